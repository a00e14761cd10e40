"""`devtools simulate` and `devtools cost`: arguments and what each prints.

Both run the stack's Pulumi program under mocks (as `devtools plan` does) and take every scaling
and sizing input from it. Errors a user can fix print one line and exit 2; a program that fails
under mocks exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from devtools import plan
from devtools.planner import cost as costs
from devtools.planner import report
from devtools.planner.cloudwatch import UnsupportedMetric
from devtools.planner.inventory import read_inventory
from devtools.planner.load import BENCH_RESULTS, DAY, LoadError, read_bench, read_trace
from devtools.planner.metricmath import MetricMathError
from devtools.planner.scenario import DEFAULT_JOBS_PER_MONTH, load_model, simulate_stack
from devtools.planner.services import ModelError
from devtools.planner.sim import FARGATE_START_S, SimParams

USER_ERRORS = (LoadError, ModelError, UnsupportedMetric, MetricMathError, ValueError)


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas: {text}") from error
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected non-negative numbers: {text}")
    return values


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", required=True, help="stack name: dev or prod")
    parser.add_argument(
        "--jobs-per-month",
        type=float,
        default=DEFAULT_JOBS_PER_MONTH,
        help=f"load the scans share (default {DEFAULT_JOBS_PER_MONTH:,})",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--bench",
        type=Path,
        default=BENCH_RESULTS,
        help="benchmark results giving the service rate",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `devtools simulate`."""
    _common(parser)
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (24)")
    parser.add_argument("--trace", type=Path, help="CSV of scan time (s or HH:MM), new jobs")
    parser.add_argument("--plot", type=Path, help="write the day as a PNG (needs matplotlib)")
    parser.add_argument(
        "--task-start-s",
        type=_floats,
        default=FARGATE_START_S,
        help="Fargate start latencies to draw from (published measurement)",
    )
    parser.add_argument(
        "--metric-delay-s",
        type=_floats,
        default=(30.0, 120.0),
        help="LOW,HIGH seconds a datapoint takes to reach CloudWatch",
    )
    parser.add_argument(
        "--sqs-samples-per-minute", type=int, default=1, help="SQS gauge samples per minute (1)"
    )
    parser.add_argument(
        "--spot-interruptions-per-task-hour",
        type=float,
        default=0.0,
        help="Fargate Spot interruptions (0: none)",
    )


def add_cost_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `devtools cost`."""
    _common(parser)
    parser.add_argument("--days", type=int, default=7, help="simulated days averaged (7)")
    parser.add_argument(
        "--live-prices",
        action="store_true",
        help="read Fargate, NAT and RDS prices from the AWS Price List API",
    )


def _params(args: argparse.Namespace) -> SimParams:
    delay = args.metric_delay_s
    if len(delay) != 2 or delay[0] > delay[1]:
        raise ValueError("--metric-delay-s takes LOW,HIGH")
    return SimParams(
        horizon=args.hours * 3600,
        task_start_s=args.task_start_s,
        metric_delay_s=(delay[0], delay[1]),
        sqs_samples_per_minute=max(1, args.sqs_samples_per_minute),
        spot_interruptions_per_task_hour=args.spot_interruptions_per_task_hour,
    )


def simulate(args: argparse.Namespace) -> int:
    """`devtools simulate`: one simulated day of the stack."""
    try:
        model, _ = load_model(args.stack)
        scans = read_trace(args.trace) if args.trace else None
        result = simulate_stack(
            model,
            jobs_per_month=args.jobs_per_month,
            seed=args.seed,
            scans=scans,
            params=_params(args),
            rate=read_bench(args.bench),
        )
    except plan.PlanError as error:
        sys.stderr.write(f"{args.prog} simulate: {error}\n")
        return 1
    except USER_ERRORS as error:
        sys.stderr.write(f"{args.prog} simulate: {error}\n")
        return 2
    figures = report.summary(result)
    sys.stdout.write((json.dumps(figures) if args.json else report.render(figures)) + "\n")
    if args.plot:
        report.plot(result, args.plot)
    return 0


def cost(args: argparse.Namespace) -> int:
    """`devtools cost`: the stack's monthly bill at a load."""
    try:
        model, snapshot = load_model(args.stack)
        inventory = read_inventory(snapshot)
        prices = costs.load_prices()
        if args.live_prices:
            from devtools.planner.live import LivePriceError, live_prices  # noqa: PLC0415

            try:
                prices = live_prices(prices, inventory)
            except LivePriceError as error:
                sys.stderr.write(f"{args.prog} cost: {error}\n")
                return 2
        params = SimParams(horizon=args.days * DAY)
        result = simulate_stack(
            model,
            jobs_per_month=args.jobs_per_month,
            seed=args.seed,
            params=params,
            rate=read_bench(args.bench),
        )
    except plan.PlanError as error:
        sys.stderr.write(f"{args.prog} cost: {error}\n")
        return 1
    except (*USER_ERRORS, KeyError) as error:
        sys.stderr.write(f"{args.prog} cost: {error}\n")
        return 2
    items = costs.line_items(model, inventory, result, prices)
    text = _cost_json(args, items, prices) if args.json else _cost_text(args, items, prices)
    sys.stdout.write(text + "\n")
    return 0


def _totals(args: argparse.Namespace, items: list[costs.LineItem]) -> tuple[float, float]:
    total = sum(item.usd for item in items)
    return total, total / (args.jobs_per_month / 1e6) if args.jobs_per_month else 0.0


def _cost_json(args: argparse.Namespace, items: list[costs.LineItem], prices: costs.Prices) -> str:
    total, per_million = _totals(args, items)
    return json.dumps(
        {
            "stack": args.stack,
            "jobs_per_month": args.jobs_per_month,
            "total_usd_per_month": round(total, 2),
            "usd_per_million_jobs": round(per_million, 2),
            "reference_usd_per_month": round(costs.reference_design(prices), 2),
            "prices": prices.source,
            "line_items": [
                {"item": i.item, "usd": round(i.usd, 2), "detail": i.detail} for i in items
            ],
        }
    )


def _cost_text(args: argparse.Namespace, items: list[costs.LineItem], prices: costs.Prices) -> str:
    total, per_million = _totals(args, items)
    width = max(len(item.item) for item in items)
    lines = [f"stack {args.stack}: {args.jobs_per_month:,.0f} jobs/month (prices: {prices.source})"]
    lines += [f"  {i.item:<{width}}  {i.usd:9.2f}  {i.detail}" for i in items]
    lines += [
        f"  {'total per month (USD)':<{width}}  {total:9.2f}",
        f"  {'per million jobs (USD)':<{width}}  {per_million:9.2f}",
        f"reference design (two always-on 0.5 vCPU / 1 GiB tasks, SQS in the free tier): "
        f"{costs.reference_design(prices):.2f} USD/month",
    ]
    return "\n".join(lines)
