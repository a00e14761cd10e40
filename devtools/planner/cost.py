"""A stack's monthly bill per line item, from its resources and its simulated task-hours.

Prices come from `prices.json` (pinned, dated, each with its AWS pricing page) or, with
`--live-prices`, partly from the AWS Price List API (`live`). Usage that neither the program nor
the simulation knows (image size, log bytes per job, ...) is in the same file's `assumptions`.
Always-free allowances (SQS, CloudWatch, EventBridge Scheduler) are deducted per line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from devtools.planner.inventory import Inventory
from devtools.planner.load import DAY
from devtools.planner.sim import SimResult
from devtools.planner.stackmodel import StackModel

PRICES = Path(__file__).with_name("prices.json")
HOURS_PER_MONTH = 730.0
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
GB = 1024.0**3


@dataclass(frozen=True)
class Prices:
    """Price per key (USD unless the key says otherwise) and the usage assumptions."""

    values: dict[str, float]
    assumptions: dict[str, float]
    source: str

    def __getitem__(self, key: str) -> float:
        return self.values[key]


def load_prices(path: Path = PRICES) -> Prices:
    """The pinned price table."""
    data = json.loads(path.read_text())
    return Prices(
        values={key: float(entry["value"]) for key, entry in data["prices"].items()},
        assumptions={key: float(entry["value"]) for key, entry in data["assumptions"].items()},
        source=f"pinned table {path.name}",
    )


@dataclass(frozen=True)
class LineItem:
    """One line of the monthly bill."""

    item: str
    usd: float
    detail: str


@dataclass(frozen=True)
class Usage:
    """What the simulated days add up to in a month."""

    worker_task_hours: float
    worker_spot_task_hours: float
    scanner_task_hours: float
    task_starts: float
    scans: float
    jobs: float
    sqs_requests: float


def monthly_usage(result: SimResult) -> Usage:
    """Scale a simulation's totals to a 730-hour month."""
    factor = DAYS_PER_MONTH * DAY / result.horizon
    return Usage(
        worker_task_hours=result.worker_task_seconds / 3600 * factor,
        worker_spot_task_hours=result.worker_spot_task_seconds / 3600 * factor,
        scanner_task_hours=result.scanner_task_seconds / 3600 * factor,
        task_starts=(result.worker_launches + len(result.scans)) * factor,
        scans=len(result.scans) * factor,
        jobs=sum(s.jobs for s in result.scans) * factor,
        sqs_requests=result.sqs_requests * factor,
    )


def _arch(architecture: str) -> str:
    return "arm64" if architecture == "ARM64" else "x86_64"


def fargate_items(model: StackModel, use: Usage, p: Prices) -> list[LineItem]:
    """Worker and scanner vCPU and memory, by architecture and Spot."""
    w, s = model.worker, model.scanner
    spot = 1 - p["fargate_spot_discount"]
    od_hours = use.worker_task_hours - use.worker_spot_task_hours
    worker_rate = use.worker_spot_task_hours * spot + od_hours
    arch = _arch(w.architecture)
    share = f"{use.worker_spot_task_hours / max(use.worker_task_hours, 1e-9):.0%} Spot"
    return [
        LineItem(
            f"Fargate worker vCPU ({w.architecture}, {share})",
            worker_rate * w.cpu_units / 1024 * p[f"fargate_vcpu_hour_{arch}"],
            f"{use.worker_task_hours:.0f} task-h x {w.cpu_units / 1024:g} vCPU",
        ),
        LineItem(
            f"Fargate worker memory ({w.architecture}, {share})",
            worker_rate * w.memory_mib / 1024 * p[f"fargate_gb_hour_{arch}"],
            f"{use.worker_task_hours:.0f} task-h x {w.memory_mib / 1024:g} GB",
        ),
        LineItem(
            f"Fargate scanner vCPU and memory ({s.architecture}, on demand)",
            use.scanner_task_hours
            * (
                s.cpu_units / 1024 * p[f"fargate_vcpu_hour_{_arch(s.architecture)}"]
                + s.memory_mib / 1024 * p[f"fargate_gb_hour_{_arch(s.architecture)}"]
            ),
            f"{use.scanner_task_hours:.1f} task-h (one-minute minimum per run)",
        ),
    ]


def network_items(model: StackModel, inv: Inventory, use: Usage, p: Prices) -> list[LineItem]:
    """Public IPv4 addresses, NAT gateways and their data, VPC endpoints."""
    a = p.assumptions
    public_hours = use.worker_task_hours * model.worker.public_ip
    public_hours += use.scanner_task_hours * model.scanner.public_ip
    public_hours += inv.elastic_ips * HOURS_PER_MONTH
    behind_nat = inv.nat_gateways > 0 and not model.worker.public_ip
    # ECR keeps image layers in S3: with an S3 gateway endpoint they bypass the NAT gateways.
    pulls = 0.0 if inv.s3_gateway_endpoint else use.task_starts * a["image_gb"]
    boards = use.scans * a["board_fetch_mb_per_scan"] / 1024
    nat_gb = pulls + boards + use.jobs * a["sqs_kb_per_job"] / 1024**2 if behind_nat else 0.0
    return [
        LineItem(
            "Public IPv4 addresses",
            public_hours * p["public_ipv4_hour"],
            f"{public_hours:.0f} address-h (tasks with a public IP, NAT EIPs)",
        ),
        LineItem(
            "NAT gateway hours",
            inv.nat_gateways * HOURS_PER_MONTH * p["nat_gateway_hour"],
            f"{inv.nat_gateways} gateway(s)",
        ),
        LineItem(
            "NAT gateway data",
            nat_gb * p["nat_gateway_gb"],
            f"{nat_gb:.0f} GB: job boards, SQS" + (", image pulls" if pulls and behind_nat else ""),
        ),
        LineItem(
            "VPC interface endpoints",
            inv.interface_endpoint_azs * HOURS_PER_MONTH * p["vpc_interface_endpoint_az_hour"],
            f"{inv.interface_endpoint_azs} endpoint-AZ(s)",
        ),
    ]


def data_items(inv: Inventory, use: Usage, p: Prices) -> list[LineItem]:
    """SQS requests and the database."""
    billable = max(0.0, use.sqs_requests - p["sqs_free_requests"])
    items = [
        LineItem(
            "SQS requests",
            billable / 1e6 * p["sqs_requests_million"],
            f"{use.sqs_requests / 1e6:.2f} M requests, 1 M free",
        ),
    ]
    for db in inv.databases:
        az = "multi_az" if db.multi_az else "single_az"
        label = "Multi-AZ" if db.multi_az else "Single-AZ"
        items += [
            LineItem(
                f"RDS {db.instance_class} ({label})",
                HOURS_PER_MONTH * p[f"rds_postgres_{db.instance_class}_{az}_hour"],
                "730 h",
            ),
            LineItem(
                f"RDS storage (gp3, {label})",
                db.storage_gb * p[f"rds_gp3_gb_month_{az}"],
                f"{db.storage_gb} GB",
            ),
            LineItem(
                "RDS backups",
                0.0,
                f"{db.backup_days} days kept; free up to the provisioned storage",
            ),
        ]
    return items


def log_ingest_gb(inv: Inventory, use: Usage, a: dict[str, float]) -> float:
    """GB of logs a month: worker, scanner and task start-up lines, RDS exports, Container
    Insights performance events."""
    lines = (
        use.jobs * a["log_bytes_per_job"]
        + use.scans * a["log_bytes_per_scan"]
        + use.task_starts * a["log_bytes_per_task_start"]
    ) / GB
    rds = a["rds_log_mb_per_day"] * DAYS_PER_MONTH / 1024 * len(inv.databases)
    insights = use.worker_task_hours * a["container_insights_kb_per_task_hour"] / 1024**2
    return lines + rds + insights * inv.container_insights


def observability_items(inv: Inventory, use: Usage, p: Prices) -> list[LineItem]:
    """CloudWatch alarms, dashboard, metrics and logs."""
    a = p.assumptions
    metrics = inv.log_metric_filters + a["container_insights_metrics"] * inv.container_insights
    ingest_gb = log_ingest_gb(inv, use, a)
    stored_gb = ingest_gb / DAYS_PER_MONTH * inv.log_retention_days * a["log_compression"]
    return [
        LineItem(
            "CloudWatch alarms",
            max(0, inv.alarm_metrics - p["cloudwatch_free_alarm_metrics"])
            * p["cloudwatch_alarm_metric_month"],
            f"{inv.alarm_metrics} alarm metrics, 10 free",
        ),
        LineItem(
            "CloudWatch dashboard",
            max(0, inv.dashboards - p["cloudwatch_free_dashboards"])
            * p["cloudwatch_dashboard_month"],
            f"{inv.dashboards} dashboard(s), 3 free",
        ),
        LineItem(
            "CloudWatch metrics (log filters, Container Insights)",
            max(0.0, metrics - p["cloudwatch_free_metrics"]) * p["cloudwatch_metric_month"],
            f"{metrics:.0f} metrics, 10 free",
        ),
        LineItem(
            "CloudWatch Logs ingestion",
            max(0.0, ingest_gb - p["cloudwatch_free_logs_gb"]) * p["cloudwatch_logs_ingest_gb"],
            f"{ingest_gb:.2f} GB, 5 GB free",
        ),
        LineItem(
            "CloudWatch Logs storage",
            stored_gb * p["cloudwatch_logs_store_gb_month"],
            f"{stored_gb:.2f} GB kept {inv.log_retention_days} days",
        ),
    ]


def other_items(inv: Inventory, use: Usage, p: Prices) -> list[LineItem]:
    """Secrets Manager, ECR storage, EventBridge Scheduler."""
    a = p.assumptions
    calls = use.task_starts * a["secret_calls_per_task_start"]
    invocations = use.scans * inv.schedules
    return [
        LineItem(
            "Secrets Manager",
            inv.secrets * p["secrets_manager_secret_month"]
            + calls / 1e4 * p["secrets_manager_10k_calls"],
            f"{inv.secrets} secret(s), {calls:.0f} calls",
        ),
        LineItem(
            "ECR storage",
            inv.ecr_images_kept * a["image_gb"] * p["ecr_gb_month"],
            f"{inv.ecr_images_kept} images kept x {a['image_gb']:g} GB",
        ),
        LineItem(
            "EventBridge Scheduler",
            max(0.0, invocations - p["scheduler_free_invocations"]) / 1e6 * p["scheduler_million"],
            f"{invocations:.0f} invocations, 14 M free",
        ),
    ]


def reference_design(p: Prices) -> float:
    """The seed's design: two always-on 0.5 vCPU / 1 GiB x86 tasks, SQS in the free tier."""
    per_task = 0.5 * p["fargate_vcpu_hour_x86_64"] + 1.0 * p["fargate_gb_hour_x86_64"]
    return 2 * per_task * HOURS_PER_MONTH


def line_items(model: StackModel, inv: Inventory, result: SimResult, p: Prices) -> list[LineItem]:
    """Every line of the monthly bill."""
    use = monthly_usage(result)
    return (
        fargate_items(model, use, p)
        + network_items(model, inv, use, p)
        + data_items(inv, use, p)
        + observability_items(inv, use, p)
        + other_items(inv, use, p)
    )
