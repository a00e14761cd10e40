"""The simulation engine: determinism, the fluid backlog, and the AWS rules it encodes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from devtools.planner.cloudwatch import UnsupportedMetric
from devtools.planner.fleet import Backlog, Batch
from devtools.planner.load import Scan, ServiceRate
from devtools.planner.metrics import SQS
from devtools.planner.report import first_job_latencies, summary
from devtools.planner.scenario import simulate_stack
from devtools.planner.sim import SimParams, Simulation
from devtools.planner.stackmodel import MetricRef, Query, StackModel


def test_a_seed_gives_the_same_day_and_another_seed_another(
    models: dict[str, StackModel], rate: ServiceRate
) -> None:
    first = summary(simulate_stack(models["dev"], seed=7, rate=rate))
    again = summary(simulate_stack(models["dev"], seed=7, rate=rate))
    other = summary(simulate_stack(models["dev"], seed=8, rate=rate))
    assert first == again
    assert first != other


def test_backlog_completes_each_job_at_the_exact_time_for_its_rate() -> None:
    backlog = Backlog()
    backlog.add(Batch(0, scheduled=0.0, enqueued=0.0, jobs=3))
    backlog.add(Batch(1, scheduled=5.0, enqueued=5.0, jobs=2))
    done: list[tuple[int, int, float]] = []
    # 2 jobs/s for 1.25 s: jobs 1 and 2 of scan 0 end at 10.5 s and 11.0 s.
    backlog.drain(10.0, 2.0, 1.25, lambda b, k, t: done.append((b.scan, k, t)))
    assert done == [(0, 1, 10.5), (0, 2, 11.0)]
    assert backlog.total == pytest.approx(2.5)
    # Then the rest, in enqueue order: 11.5 s, 12.0 s, 12.5 s.
    backlog.drain(11.25, 2.0, 10.0, lambda b, k, t: done.append((b.scan, k, t)))
    assert done[2:] == [(0, 3, 11.5), (1, 1, 12.0), (1, 2, 12.5)]
    assert backlog.total == 0


def test_in_flight_is_published_only_while_messages_are_in_flight(
    models: dict[str, StackModel], rate: ServiceRate
) -> None:
    sim = Simulation(models["prod"], [Scan(600.0, 50_000)], rate, SimParams(horizon=3600.0))
    sim.run()
    visible = [sim.store.published(SQS, "ApproximateNumberOfMessagesVisible", m) for m in range(60)]
    in_flight = [
        sim.store.published(SQS, "ApproximateNumberOfMessagesNotVisible", m) for m in range(60)
    ]
    # SQS reports visible messages every minute of an active queue, in-flight ones only if any.
    assert all(v is not None for v in visible)
    assert any(v is not None for v in in_flight)
    assert all(v is None or min(v) > 0 for v in in_flight)
    assert in_flight[30] is None


def test_a_queue_inactive_for_six_hours_reports_late_and_scales_out_late(
    models: dict[str, StackModel], rate: ServiceRate
) -> None:
    """Dev at zero tasks: nothing touches the queue for 7 hours, so it is inactive and its
    first metrics arrive up to 15 minutes late; a queue used 20 minutes earlier is still active."""
    cold = simulate_stack(models["dev"], scans=[Scan(7 * 3600.0, 20)], rate=rate)
    warm = simulate_stack(
        models["dev"], scans=[Scan(6.5 * 3600.0, 1), Scan(7 * 3600.0, 20)], rate=rate
    )
    cold_first = first_job_latencies(cold)[0]
    warm_first = first_job_latencies(warm)[-1]
    assert cold_first > 15 * 60
    assert warm_first < cold_first - 8 * 60


def test_spot_interruptions_are_replaced_by_the_service(
    models: dict[str, StackModel], rate: ServiceRate
) -> None:
    prod = models["prod"]
    on_spot = replace(prod, worker=replace(prod.worker, spot_share=1.0))
    params = SimParams(spot_interruptions_per_task_hour=0.5)
    result = simulate_stack(on_spot, scans=[Scan(0.0, 0)], params=params, rate=rate)
    figures = summary(result)
    assert result.worker_launches >= 3  # each interruption starts a replacement
    assert figures["spot_task_hours_per_day"] == figures["task_hours_per_day"]
    # Between the two-minute warning and the replacement's start the service runs two tasks.
    assert figures["time_at_min_tasks_share"] < 1.0


def test_a_scaling_alarm_on_a_metric_the_simulator_lacks_fails_clearly(
    models: dict[str, StackModel], rate: ServiceRate
) -> None:
    dev = models["dev"]
    errors = MetricRef("AWS/Lambda", "Errors", (("FunctionName", "f"),), "Sum", 60)
    alarm = replace(dev.alarms[0], queries=(Query("m1", errors, None, True),))
    with pytest.raises(UnsupportedMetric, match="AWS/Lambda Errors"):
        Simulation(replace(dev, alarms=(alarm,)), [], rate)
