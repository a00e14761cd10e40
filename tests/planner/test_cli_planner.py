"""`devtools simulate` and `devtools cost` from the command line (each runs the program once)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devtools.cli import main

SIMULATE_KEYS = {
    "latency_p50_s",
    "latency_p95_s",
    "task_hours_per_day",
    "time_at_min_tasks_share",
    "max_tasks_reached",
    "scale_events",
}


def test_simulate_prints_the_summary_as_json_and_plots_the_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / "dev.png"
    assert main(["simulate", "--stack", "dev", "--json", "--plot", str(plot)]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures.keys() >= SIMULATE_KEYS
    assert 0 <= figures["time_at_min_tasks_share"] <= 1
    assert figures["latency_p50_s"] <= figures["latency_p95_s"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_replays_a_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text("time,new_jobs\n00:15,40\n3600,0\n02:00:30,500\n")
    assert main(["simulate", "--stack", "prod", "--json", "--trace", str(trace)]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert (figures["scans"], figures["jobs"]) == (3, 540)


def test_simulate_with_a_bad_trace_fails_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text("time,new_jobs\n")
    assert main(["simulate", "--stack", "dev", "--trace", str(trace)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"devtools simulate: {trace}: no scans in the trace"


def test_cost_prints_the_bill_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--stack", "prod", "--json", "--days", "1"]) == 0
    bill = json.loads(capsys.readouterr().out)
    total = sum(item["usd"] for item in bill["line_items"])
    assert bill["total_usd_per_month"] == pytest.approx(total, abs=0.05)
    assert bill["usd_per_million_jobs"] == pytest.approx(bill["total_usd_per_month"] * 10, 0.01)
    items = {item["item"] for item in bill["line_items"]}
    assert {"SQS requests", "NAT gateway hours", "CloudWatch alarms", "ECR storage"} <= items


def test_live_prices_without_credentials_fail_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["cost", "--stack", "dev", "--live-prices"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "devtools cost: --live-prices needs AWS credentials and none were found\n"
    )
