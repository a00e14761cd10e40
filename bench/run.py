"""`python -m bench`: start what is needed, run the scenarios for a few rounds, write results.

The bare loop and the no-op worker run back to back in every round (their order alternating),
so their ratio compares two drains on the same machine within seconds of each other.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench import scenarios, searches
from bench.env import REPO, BenchEnv
from bench.fixtures import insert_jobs, make_jobs, reset_all, seed_searches
from bench.report import machine, summarize, write
from jobping.settings import WorkerSettings

log = logging.getLogger("bench")
ALL = ("limit", "noop", "limit32", "noop32", "pipeline", "e2e", "searches")
#: The second no-op pair: the worker at this concurrency (4 pollers) against as many threads.
WIDE_CONCURRENCY = 32
#: `--only NAME`: a scenario, or a group of them, to run alone.
ONLY = {name: (name,) for name in ALL} | {"noop": ("limit", "noop", "limit32", "noop32")}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--endpoint-url", help="SQS endpoint (default: LocalStack on this host)")
    parser.add_argument("--scenarios", default=",".join(ALL), help="comma-separated subset")
    parser.add_argument("--only", choices=sorted(ONLY), help="run only this scenario or group")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the pipeline")
    parser.add_argument(
        "--pair-rounds",
        type=int,
        default=5,
        help="rounds of the two limit/no-op pairs (their ratio varies ~10%% between rounds here)",
    )
    parser.add_argument("--e2e-rounds", type=int, default=2)
    parser.add_argument("--messages", type=int, default=20_000, help="per limit/no-op drain")
    parser.add_argument("--pipeline-jobs", type=int, default=3000)
    parser.add_argument("--e2e-jobs", type=int, default=5000)
    parser.add_argument("--e2e-workers", type=int, default=1)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8, help="WORKER_CONCURRENCY")
    parser.add_argument(
        "--search-sizes",
        default=",".join(str(size) for size in searches.SIZES),
        help="saved searches of the searches scenario, one drain each (edits at the largest)",
    )
    parser.add_argument("--searches-jobs", type=int, default=1000, help="jobs per searches drain")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="one no-op and one pipeline drain under py-spy; write profiles, not results",
    )
    parser.add_argument("--no-readme", action="store_true", help="leave bench/README.md alone")
    args = parser.parse_args(argv)
    if args.only:
        args.scenarios = ",".join(ONLY[args.only])
    return args


def pollers_for(concurrency: int) -> int:
    """The worker's poller threads at this concurrency (as `worker.main.serve` computes them)."""
    batch = int(WorkerSettings.model_fields["worker_batch_size"].default)
    return max(1, math.ceil(concurrency / batch))


def run_rounds(env: BenchEnv, args: argparse.Namespace, logdir: Path) -> dict[str, list[Any]]:
    """Every scenario, `--pair-rounds`, `--rounds` or `--e2e-rounds` times."""
    chosen = set(args.scenarios.split(","))
    rounds: dict[str, list[Any]] = {name: [] for name in ALL if name in chosen}
    noop_bodies = scenarios.noop_bodies(args.messages)
    pipeline_bodies = scenarios.job_bodies(env.database_url) if "pipeline" in chosen else []
    for index in range(max(args.rounds, args.pair_rounds)):
        for bare, worker, concurrency in (
            ("limit", "noop", args.concurrency),
            ("limit32", "noop32", WIDE_CONCURRENCY),
        ):
            if index < args.pair_rounds:
                _noop_pair(env, rounds, logdir, index, noop_bodies, (bare, worker), concurrency)
        if "pipeline" in chosen and index < args.rounds:
            scenarios.pipeline_reset(env)
            figures = scenarios.worker_drain(
                env, "worker", pipeline_bodies, logdir, f"pipeline-{index}",
                concurrency=args.concurrency,
            )  # fmt: skip
            scenarios.pipeline_effects(env, figures)
            rounds["pipeline"].append(figures)
            log.info("round %d pipeline: %s", index + 1, _brief(rounds["pipeline"][-1]))
    for index in range(args.e2e_rounds if "e2e" in chosen else 0):
        rounds["e2e"].append(
            scenarios.end_to_end(
                env, args.e2e_jobs, logdir, f"e2e-{index}",
                workers=args.e2e_workers, concurrency=args.concurrency,
            )
        )  # fmt: skip
        log.info("round %d e2e: %s", index + 1, _brief(rounds["e2e"][-1]))
    if "searches" in chosen:  # last: it replaces the saved searches the others use
        rounds["searches"].append(searches.run(env, args, logdir))
    return rounds


def _noop_pair(
    env: BenchEnv,
    rounds: dict[str, list[Any]],
    logdir: Path,
    index: int,
    bodies: list[str],
    names: tuple[str, str],
    concurrency: int,
) -> None:
    """The bare loop and the no-op worker with equal pollers, back to back, order alternating."""
    bare, worker = names
    pair: list[tuple[str, Callable[[], dict[str, Any]]]] = []
    if bare in rounds:
        pair.append((bare, partial(scenarios.limit, env, bodies, pollers_for(concurrency))))
    if worker in rounds:
        noop = partial(
            scenarios.worker_drain, env, "bench.noop_worker", bodies, logdir,
            f"{worker}-{index}", concurrency=concurrency,
        )  # fmt: skip
        pair.append((worker, noop))
    for name, run in pair if index % 2 == 0 else reversed(pair):
        rounds[name].append(run())
        log.info("round %d %s: %s", index + 1, name, _brief(rounds[name][-1]))
    if bare in rounds and worker in rounds:
        figures = rounds[worker][-1]
        figures["ratio_to_limit"] = figures["messages_per_s"] / rounds[bare][-1]["messages_per_s"]


def _brief(figures: dict[str, Any]) -> str:
    return ", ".join(
        f"{key}={value:.3g}" if isinstance(value, float) else f"{key}={value}"
        for key, value in figures.items()
        if not isinstance(value, dict)
    )


def profile(env: BenchEnv, args: argparse.Namespace, logdir: Path) -> None:
    """One no-op and one pipeline drain with py-spy attached; top entries to stdout."""
    from bench.profiles import top_entries  # noqa: PLC0415

    out = args.out / "profiles"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    runs = [
        ("noop", "bench.noop_worker", scenarios.noop_bodies(args.messages)),
        ("pipeline", "worker", scenarios.job_bodies(env.database_url)),
    ]
    for name, module, bodies in runs:
        scenarios.pipeline_reset(env)
        raw = out / f"{name}-{stamp}.txt"
        figures = scenarios.worker_drain(
            env, module, bodies, logdir, f"profile-{name}",
            concurrency=args.concurrency, profile_to=raw,
        )  # fmt: skip
        report = top_entries(raw)
        (out / f"{name}-{stamp}-top.txt").write_text(report)
        sys.stdout.write(f"== {name}: {_brief(figures)}\n{report}\n")


def _say(text: str) -> None:
    sys.stdout.write(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when every scenario ran (targets are reported, not enforced)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s bench: %(message)s")
    # jobping.migrate logs `extra={"name": ...}`, which LogRecord refuses at INFO (reported).
    logging.getLogger("jobping.migrate").setLevel(logging.WARNING)
    env = BenchEnv(endpoint_url=args.endpoint_url)
    started = datetime.now(UTC)
    try:
        env.start()
        logdir = env.workdir / "logs"
        logdir.mkdir()
        reset_all(env.database_url)
        if args.profile or {"pipeline", "e2e"} & set(args.scenarios.split(",")):
            seed_searches(env.database_url, args.users, args.searches)
            insert_jobs(env.database_url, make_jobs(args.pipeline_jobs))
        if args.profile:
            profile(env, args, logdir)
            return 0
        rounds = run_rounds(env, args, logdir)
    finally:
        env.stop()
    result = {
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "config": {
            "endpoint": args.endpoint_url or "LocalStack (host)",
            "concurrency": args.concurrency,
            "pollers": pollers_for(args.concurrency),
            "wide_concurrency": WIDE_CONCURRENCY,
            "wide_pollers": pollers_for(WIDE_CONCURRENCY),
            "messages": args.messages,
            "pipeline_jobs": args.pipeline_jobs,
            "e2e_jobs": args.e2e_jobs,
            "e2e_workers": args.e2e_workers,
            "users": args.users,
            "searches": args.searches,
            "rounds": args.rounds,
            "e2e_rounds": args.e2e_rounds,
            "search_sizes": args.search_sizes,
            "searches_jobs": args.searches_jobs,
        },
        "summary": {name: summarize(found) for name, found in rounds.items() if found},
        "rounds": rounds,
    }
    chosen = [name for name in ALL if name in args.scenarios.split(",")]
    # A run of some scenarios only leaves the full run's results (and the README's) alone.
    name = "latest" if len(chosen) == len(ALL) else "latest-" + "-".join(chosen)
    write(result, args.out, name=name, readme=not args.no_readme and name == "latest", say=_say)
    return 0
