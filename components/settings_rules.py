"""Rules across settings: what one key allows depends on others.

`components.settings` checks each value on its own; `check_capacity` then checks that the stack
can work as a whole, and fails with one line naming the key to change:

- **Scale-in between scans.** After a scan the queue is busy for a while (`SCAN_BUSY_SECONDS`:
  the scanner task starts, SQS metrics arrive late, and a stack at zero tasks first scales out
  from a cold start), then the idle alarm needs `worker.scaleInIdleMinutes` of an empty queue,
  then a stopping worker drains for up to `worker.drainSeconds`. If that is not shorter than the
  time between two runs of `scanner.schedule`, the next scan refills the queue first and a stack
  whose scans keep finding jobs never scales in. `devtools simulate` checks the same property
  over a simulated day (tests/planner/test_agreement.py holds the two to each other).
- **Database connections.** Every worker task holds `concurrency + 2` connections (a pool of one
  per handler thread plus a spare for the notification sweep, and the probe's own; see
  `worker/main.py`); during a rolling deployment `DEPLOYMENT_MAXIMUM_PERCENT` of the tasks run at
  once; the scanner adds its own. That must fit the instance class's default `max_connections`
  with headroom.
"""

from __future__ import annotations

import math
import re
from itertools import pairwise

from components.settings_types import DEPLOYMENT_MAXIMUM_PERCENT, StackSettings
from jobping.stackfile import SettingsError

#: How long the queue stays busy after a scan starts, before the idle window can begin, with
#: warm tasks: the scanner's own Fargate start (~1 min), SQS metrics up to 2 min late
#: (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/
#: sqs-available-cloudwatch-metrics.html) and about a minute of processing for a small scan.
SCAN_BUSY_SECONDS = 240
#: Added when `minTasks` is 0: the scale-out alarm's period and late datapoint, then a cold start,
#: before the first job is taken. The simulator found scale-in between scans needs the idle
#: window at most the interval minus 9 minutes from zero tasks and minus 5 with a warm task.
SCALE_FROM_ZERO_SECONDS = 240

#: Connections per worker task beyond one per handler thread (worker/main.py): the pool's spare
#: (the notification sweep) and the dependency probe's own. The `migrate` step's session ends
#: before the worker container starts (`dependsOn` SUCCESS), so it is never held beside them.
WORKER_EXTRA_CONNECTIONS = 2
#: The scanner's pool of 2 (scanner/main.py) plus its migration session (jobping/migrate.py),
#: counted together in case a retried or manual run overlaps a scheduled one.
SCANNER_CONNECTIONS = 3
#: Share of `max_connections` the application may plan for. The rest covers the superuser-reserved
#: slots, RDS's own sessions, an operator's psql, and the gap between the class's memory below and
#: `DBInstanceClassMemory` (which excludes what the OS and RDS processes reserve).
HEADROOM_PERCENT = 75
#: RDS for PostgreSQL's default: max_connections = LEAST({DBInstanceClassMemory/9531392}, 5000)
#: (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.MaxConnections).
MAX_CONNECTIONS_DIVISOR = 9531392
MAX_CONNECTIONS_CAP = 5000
#: Memory (GiB) of the instance classes a created database may use
#: (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Summary.html).
RDS_MEMORY_GIB: dict[str, int] = {
    **{f"db.{t}.{s}": m for t in ("t3", "t4g") for s, m in
       (("micro", 1), ("small", 2), ("medium", 4), ("large", 8), ("xlarge", 16), ("2xlarge", 32))},
    **{f"db.{t}.{s}": m for t in ("m6g", "m7g") for s, m in
       (("large", 8), ("xlarge", 16), ("2xlarge", 32), ("4xlarge", 64))},
    **{f"db.{t}.{s}": m for t in ("r6g", "r7g") for s, m in
       (("large", 16), ("xlarge", 32), ("2xlarge", 64), ("4xlarge", 128))},
}  # fmt: skip

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_DAY_MINUTES = 24 * 60


def check_capacity(settings: StackSettings) -> None:
    """Fail with the key to change if the stack cannot scale in or would exhaust connections."""
    _check_scale_in_between_scans(settings)
    _check_connection_budget(settings)


def schedule_interval_seconds(expression: str) -> int | None:
    """The shortest time between two runs of a Scheduler expression (None for a one-off `at`).

    `cron(...)` is read for its minutes and hours fields as if it fired every day, so the gap
    found is never longer than the real one.
    """
    rate = _RATE.match(expression)
    if rate:
        return int(rate.group(1)) * _UNIT_SECONDS[rate.group(2).rstrip("s")]
    if not expression.startswith("cron("):
        return None
    fields = expression[len("cron(") : -1].split()
    if len(fields) != 6:
        raise SettingsError("jobping:scanner.schedule", "cron(...) needs six fields")
    minutes, hours = _expand(fields[0], 0, 59), _expand(fields[1], 0, 23)
    times = sorted(h * 60 + m for h in hours for m in minutes)
    gaps = [b - a for a, b in pairwise(times)]
    gaps.append(times[0] + _DAY_MINUTES - times[-1])
    return min(gaps) * 60


def _expand(field: str, low: int, high: int) -> set[int]:
    """The values of one cron field: `*`, `n`, `a-b`, `a/step`, `a-b/step`, comma lists."""
    values: set[int] = set()
    try:
        for part in field.split(","):
            base, _, step = part.partition("/")
            start, _, end = base.partition("-")
            first = low if start == "*" else int(start)
            last = high if start == "*" or (step and not end) else int(end or start)
            values.update(range(first, last + 1, int(step or 1)))
    except ValueError:
        raise SettingsError(
            "jobping:scanner.schedule", f"cron field {field!r} is not numbers, ranges or steps"
        ) from None
    if not values or min(values) < low or max(values) > high:
        raise SettingsError("jobping:scanner.schedule", f"cron field {field!r} is out of range")
    return values


def _check_scale_in_between_scans(settings: StackSettings) -> None:
    interval = schedule_interval_seconds(settings.scanner.schedule)
    w = settings.worker
    busy = SCAN_BUSY_SECONDS + (SCALE_FROM_ZERO_SECONDS if w.min_tasks == 0 else 0)
    if interval is None or busy + w.scale_in_idle_minutes * 60 + w.drain_seconds < interval:
        return
    raise SettingsError(
        "jobping:worker.scaleInIdleMinutes",
        f"{w.scale_in_idle_minutes} min plus jobping:worker.drainSeconds ({w.drain_seconds} s) "
        f"plus {busy} s of a scan's busy time must be shorter than the {interval} s between two "
        "runs of jobping:scanner.schedule, or the workers never scale in while scans find jobs",
    )


def max_connections(instance_class: str) -> int:
    """RDS for PostgreSQL's default `max_connections` for a class, from its nominal memory."""
    memory = RDS_MEMORY_GIB[instance_class] * 1024**3
    return min(memory // MAX_CONNECTIONS_DIVISOR, MAX_CONNECTIONS_CAP)


def peak_connections(settings: StackSettings) -> int:
    """Connections the application may hold at once: workers mid-deployment plus the scanner."""
    w = settings.worker
    peak_tasks = math.ceil(w.max_tasks * DEPLOYMENT_MAXIMUM_PERCENT / 100)
    return peak_tasks * (w.concurrency + WORKER_EXTRA_CONNECTIONS) + SCANNER_CONNECTIONS


def _check_connection_budget(settings: StackSettings) -> None:
    db = settings.database
    if db.mode != "create":
        return  # an existing server's max_connections is not known here
    if db.instance_class not in RDS_MEMORY_GIB:
        raise SettingsError(
            "jobping:database.instanceClass", f"must be one of {', '.join(RDS_MEMORY_GIB)}"
        )
    limit = max_connections(db.instance_class)
    budget = limit * HEADROOM_PERCENT // 100
    demand = peak_connections(settings)
    if demand <= budget:
        return
    w = settings.worker
    raise SettingsError(
        "jobping:worker.maxTasks",
        f"{w.max_tasks} tasks ({DEPLOYMENT_MAXIMUM_PERCENT}% during a deployment) x "
        f"(jobping:worker.concurrency {w.concurrency} + {WORKER_EXTRA_CONNECTIONS}) + "
        f"{SCANNER_CONNECTIONS} scanner connections = {demand} exceed {budget}, "
        f"{HEADROOM_PERCENT}% of {db.instance_class}'s max_connections ({limit}); lower maxTasks "
        "or concurrency, or choose a larger jobping:database.instanceClass",
    )
