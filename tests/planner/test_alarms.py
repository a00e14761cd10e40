"""Alarm and step-scaling logic, worked by hand from the AWS documentation, step by step.

Alarm evaluation: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
Step adjustments: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepAdjustment.html
Cooldowns: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepScalingPolicyConfiguration.html
"""

from __future__ import annotations

import pytest

from devtools.planner.alarms import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    AlarmRuntime,
    ScalableTarget,
    alarm_state,
    pick_step,
)
from devtools.planner.cloudwatch import MetricStore
from devtools.planner.stackmodel import AlarmDef, MetricRef, PolicyDef, Query, Step

RETAIN = "retain"  # the doc's "Retain current state"


def points(row: str) -> list[float | None]:
    """The doc's notation, oldest first: 0 not breaching, X breaching, - missing."""
    return [{"0": 0.0, "X": 1.0, "-": None}[c] for c in row.split()]


def state(row: str, n: int, m: int, treat: str, current: str = "CURRENT") -> str:
    found = alarm_state(
        points(row),
        n=n,
        m=m,
        breaching=lambda v: v > 0.5,
        treat_missing=treat,
        current=current,
    )
    return RETAIN if found == "CURRENT" else found


# The doc's first table: Datapoints to Alarm = Evaluation Periods = 3, 5 datapoints retrieved.
# Columns: MISSING, IGNORE, BREACHING, NOT BREACHING. Its last row ("X - - - -", ALARM under
# MISSING, explained there as "the oldest evaluated data point is breaching") is the one case
# the planner does not reproduce: with fewer real datapoints than N it goes to ALARM only on M
# breaching ones, so a lone breaching datapoint gives INSUFFICIENT_DATA, as the row
# "- - - - X" of the same table does.
THREE_OF_THREE = [
    ("0 - X - X", (OK, OK, OK, OK)),
    ("0 - - - -", (OK, OK, OK, OK)),
    ("- - - - -", (INSUFFICIENT_DATA, RETAIN, ALARM, OK)),
    ("0 X X - X", (ALARM, ALARM, ALARM, ALARM)),
    ("- - - - X", (INSUFFICIENT_DATA, RETAIN, ALARM, OK)),
]
# The doc's second table: 2 out of 3.
TWO_OF_THREE = [
    ("0 - X - X", (ALARM, ALARM, ALARM, ALARM)),
    ("0 0 X 0 X", (ALARM, ALARM, ALARM, ALARM)),
    ("0 - X - -", (OK, OK, ALARM, OK)),
    ("- - - - 0", (OK, OK, ALARM, OK)),
    ("- - - - X", (INSUFFICIENT_DATA, RETAIN, ALARM, OK)),
]
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")


@pytest.mark.parametrize(("row", "expected"), THREE_OF_THREE)
def test_three_of_three_matches_the_missing_data_table(row: str, expected: tuple[str, ...]) -> None:
    assert tuple(state(row, 3, 3, treat) for treat in TREATMENTS) == expected


@pytest.mark.parametrize(("row", "expected"), TWO_OF_THREE)
def test_two_of_three_matches_the_missing_data_table(row: str, expected: tuple[str, ...]) -> None:
    assert tuple(state(row, 3, 2, treat) for treat in TREATMENTS) == expected


def test_alarm_timeline_of_the_guides_figure() -> None:
    """Threshold 3, 3 of 3, one-minute periods: breaching in periods 3 to 5, OK from 6, and a
    single breach in period 9 that leaves it OK ("Evaluating an alarm")."""
    metric = MetricRef("AWS/SQS", "ApproximateNumberOfMessagesVisible",
                       (("QueueName", "q"),), "Maximum", 60)  # fmt: skip
    alarm = AlarmDef("figure", (Query("m1", metric, None, True),), 60, 3, 3, 3.0,
                     "GreaterThanThreshold", "missing", ())  # fmt: skip
    store = MetricStore("q", "s")
    runtime = AlarmRuntime(alarm)
    values = [1.0, 2.0, 4.0, 5.0, 6.0, 2.0, 1.0, 1.0, 4.0, 1.0]
    states = []
    for minute, v in enumerate(values, start=1):
        store.publish("AWS/SQS", metric.name, minute, (v,), arrival=0.0)
        # Evaluated when period `minute` has ended, i.e. at the start of the next one.
        runtime.evaluate(store, (minute + 1) * 60.0)
        states.append(runtime.state)
    # Periods 1 and 2 alone: too few datapoints, none breaching -> OK (the row "0 - - - -").
    # Then periods 1-3 and 2-4: not all three breaching.
    assert states[:4] == [OK, OK, OK, OK]
    assert states[4] == ALARM  # periods 3, 4, 5 all above 3
    assert states[5:] == [OK] * 5  # period 6 dips; period 9 alone does not alarm


def test_a_late_datapoint_is_missing_until_it_arrives() -> None:
    metric = MetricRef("AWS/SQS", "ApproximateNumberOfMessagesVisible", (), "Maximum", 60)
    store = MetricStore("q", "s")
    store.publish("AWS/SQS", metric.name, 5, (7.0,), arrival=420.0)
    assert store.series(metric, 5, 1, now=400.0) == [None]
    assert store.series(metric, 5, 1, now=420.0) == [7.0]


def test_step_bounds_follow_the_api_reference_example() -> None:
    """Threshold 50: [0, 10) holds metrics from 50 up to 60 (above the threshold, lower bound
    inclusive); (-10, 0] holds metrics above 40 up to 50 (below it, upper bound inclusive)."""
    up, down = Step(0.0, 10.0, 1.0), Step(-10.0, 0.0, -1.0)
    assert pick_step([up], 50.0 - 50, above=True) is up
    assert pick_step([up], 60.0 - 50, above=True) is None
    assert pick_step([down], 50.0 - 50, above=False) is down
    assert pick_step([down], 40.0 - 50, above=False) is None


def policy(adjustment_type: str, cooldown: int, steps: tuple[Step, ...]) -> PolicyDef:
    return PolicyDef("p", "arn:p", adjustment_type, cooldown, "Maximum", None, steps)


SCALE_OUT = policy("ChangeInCapacity", 300, (Step(0.0, 10.0, 2.0), Step(10.0, None, 3.0)))


def test_scale_out_cooldown_counts_the_capacity_already_added() -> None:
    """The Application Auto Scaling example: +2, then during the cooldown a more aggressive
    step of +3 adds only 1, because the 2 already added count."""
    target = ScalableTarget(min_capacity=0, max_capacity=20, desired=0)
    threshold = 1.0
    # t=0: metric 5 -> step [0, 10) -> +2: 0 -> 2, cooldown until 300.
    assert target.invoke(SCALE_OUT, [5.0], threshold, True, now=0.0) == 2
    # t=60: the alarm invokes the policy again (still ALARM), same step: 0 + 2 is not more.
    assert target.invoke(SCALE_OUT, [5.0], threshold, True, now=60.0) is None
    # t=120: metric 20 -> step [10, inf) -> +3 from the capacity before the cooldown: 3.
    assert target.invoke(SCALE_OUT, [20.0], threshold, True, now=120.0) == 3
    # t=300: that activity restarted the cooldown (to 420); the same step adds nothing.
    assert target.invoke(SCALE_OUT, [20.0], threshold, True, now=300.0) is None
    # t=420: the cooldown is over; the step applies to the current capacity: 3 + 3.
    assert target.invoke(SCALE_OUT, [20.0], threshold, True, now=420.0) == 6


def test_an_alarm_that_stays_in_alarm_adds_a_task_each_time_its_cooldown_ends() -> None:
    """Actions are re-invoked every period in ALARM: with a 60 s cooldown and +1 per
    invocation, a backlog that CloudWatch still reports grows the service by one a minute."""
    one = policy("ChangeInCapacity", 60, (Step(0.0, None, 1.0),))
    target = ScalableTarget(min_capacity=0, max_capacity=3, desired=0)
    added = [target.invoke(one, [40.0], 1.0, True, now=60.0 * k) for k in range(5)]
    assert added == [1, 2, 3, None, None]  # capped at maxCapacity


def test_scale_in_cooldown_blocks_scale_in_and_a_scale_out_ends_it() -> None:
    to_min = policy("ExactCapacity", 300, (Step(None, 0.0, 1.0),))
    target = ScalableTarget(min_capacity=1, max_capacity=10, desired=5)
    # t=0: idle (metric 0 <= threshold 0) -> exactly 1.
    assert target.invoke(to_min, [0.0], 0.0, False, now=0.0) == 1
    target.desired = 4  # an operator (or another policy) raised it meanwhile
    target.in_until = 300.0
    # t=60: a scale-in during its cooldown is blocked.
    assert target.invoke(to_min, [0.0], 0.0, False, now=60.0) is None
    # t=120: a scale-out goes ahead at once and ends the scale-in cooldown...
    assert target.invoke(SCALE_OUT, [5.0], 1.0, True, now=120.0) == 6
    # t=180: ...so scale-in is allowed again before the old cooldown's end (300).
    assert target.invoke(to_min, [0.0], 0.0, False, now=180.0) == 1


def test_percent_change_rounds_as_documented() -> None:
    """PercentChangeInCapacity: values between 0 and 1 round to 1, larger ones down."""
    grow = policy("PercentChangeInCapacity", 0, (Step(0.0, None, 50.0),))
    target = ScalableTarget(min_capacity=0, max_capacity=100, desired=1)
    assert target.invoke(grow, [1.0], 0.0, True, now=0.0) == 2  # +0.5 -> +1
    target.desired = 5
    assert target.invoke(grow, [1.0], 0.0, True, now=1.0) == 7  # +2.5 -> +2


def test_alarm_state_uses_the_most_recent_real_datapoints() -> None:
    # Enough real datapoints in the range: the missing ones are skipped, not filled.
    found = alarm_state([1.0, None, 1.0, 1.0, None], n=3, m=3, breaching=lambda v: v > 0,
                        treat_missing="notBreaching", current=OK)  # fmt: skip
    assert found == ALARM
