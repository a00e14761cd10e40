"""The operator's queue commands against the moto server: stats, DLQ peek, DLQ redrive."""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest
from botocore.stub import Stubber

from devtools.local.moto import MotoServer
from devtools.local.queues import JobQueues
from jobping import ops
from jobping.cli import main


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, moto_server: MotoServer, queues: JobQueues) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("JOB_QUEUE_URL", queues.url)


def _dead_letter(sqs: object, queues: JobQueues, count: int) -> None:
    for i in range(count):
        sqs.send_message(  # type: ignore[attr-defined]
            QueueUrl=queues.dlq_url,
            MessageBody=json.dumps({"n": i}),
            MessageAttributes={
                "jobping.error.reason": {"DataType": "String", "StringValue": f"bad body {i}"},
                "tenant": {"DataType": "String", "StringValue": "demo"},
            },
        )


def _depth(sqs: object, url: str) -> int:
    stats = ops.queue_stats(sqs, url)  # type: ignore[arg-type]
    return stats.visible + stats.in_flight


@pytest.mark.usefixtures("cli_env")
def test_queue_stats_reports_depths(
    sqs: object, queues: JobQueues, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(3):
        sqs.send_message(QueueUrl=queues.url, MessageBody=str(i))  # type: ignore[attr-defined]
    sqs.receive_message(QueueUrl=queues.url, MaxNumberOfMessages=1)  # type: ignore[attr-defined]
    _dead_letter(sqs, queues, 2)
    assert main(["queue", "stats", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["visible"], report["in_flight"], report["delayed"]) == (2, 1, 0)
    assert report["dlq"] == queues.dlq_url
    assert report["dlq_depth"] == 2
    assert report["oldest_age_seconds"] is None  # moto has no CloudWatch data points


@pytest.mark.usefixtures("cli_env")
def test_dlq_peek_shows_reasons_and_deletes_nothing(
    sqs: object, queues: JobQueues, capsys: pytest.CaptureFixture[str]
) -> None:
    _dead_letter(sqs, queues, 3)
    assert main(["dlq", "peek", "-n", "5"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 3
    assert {line["attributes"]["jobping.error.reason"] for line in lines} == {
        "bad body 0",
        "bad body 1",
        "bad body 2",
    }
    assert _depth(sqs, queues.dlq_url) == 3
    assert ops.queue_stats(sqs, queues.dlq_url).visible == 3  # type: ignore[arg-type]


@pytest.mark.usefixtures("cli_env")
def test_dlq_redrive_copies_back_and_drops_error_attributes(
    sqs: object, queues: JobQueues, capsys: pytest.CaptureFixture[str]
) -> None:
    _dead_letter(sqs, queues, 12)
    assert main(["dlq", "redrive", "--max", "5"]) == 0
    assert "moved 5 message(s)" in capsys.readouterr().out
    assert _depth(sqs, queues.dlq_url) == 7
    assert main(["dlq", "redrive"]) == 0  # moto has no StartMessageMoveTask: copies the rest
    assert "moved 7 message(s)" in capsys.readouterr().out
    assert _depth(sqs, queues.dlq_url) == 0
    bodies, attributes = set(), []
    while messages := sqs.receive_message(  # type: ignore[attr-defined]
        QueueUrl=queues.url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages"):
        for message in messages:
            bodies.add(message["Body"])
            attributes.append(message.get("MessageAttributes", {}))
    assert bodies == {json.dumps({"n": i}) for i in range(12)}
    assert all(set(a) == {"tenant"} for a in attributes)


def test_redrive_uses_message_move_task_when_available() -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    dlq = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs-dlq"
    jobs = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"
    dlq_arn = "arn:aws:sqs:us-east-1:123456789012:jobs-dlq"
    jobs_arn = "arn:aws:sqs:us-east-1:123456789012:jobs"
    with Stubber(sqs) as stub:
        for url, arn in ((dlq, dlq_arn), (jobs, jobs_arn)):
            stub.add_response(
                "get_queue_attributes",
                {"Attributes": {"QueueArn": arn}},
                {"QueueUrl": url, "AttributeNames": ["All"]},
            )
        stub.add_response(
            "start_message_move_task",
            {"TaskHandle": "task-1"},
            {"SourceArn": dlq_arn, "DestinationArn": jobs_arn},
        )
        result = ops.redrive(sqs, dlq, jobs)
    assert (result.method, result.task_handle) == ("move-task", "task-1")


@pytest.mark.usefixtures("cli_env")
def test_dlq_redrive_names_the_job_queue_as_the_move_destination(
    sqs: object, queues: JobQueues
) -> None:
    """Messages the worker dead-lettered itself carry no DeadLetterQueueSourceArn: without a
    DestinationArn, SQS would not know where to move them. The request is sent to moto for real
    (moto 5.2 answers 500, so the command then copies)."""
    sent: list[dict[str, object]] = []

    def record(params: dict[str, object], **_: object) -> None:
        sent.append(dict(params))

    hook = "before-parameter-build.sqs.StartMessageMoveTask"
    sqs.meta.events.register(hook, record)  # type: ignore[attr-defined]
    try:
        # As the worker dead-letters a message: SendMessage to the DLQ (no source ARN on it).
        sqs.send_message(QueueUrl=queues.dlq_url, MessageBody='{"n": 1}')  # type: ignore[attr-defined]
        result = ops.redrive(sqs, queues.dlq_url, queues.url)  # type: ignore[arg-type]
    finally:
        sqs.meta.events.unregister(hook, record)  # type: ignore[attr-defined]

    arn = {
        url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[  # type: ignore[attr-defined]
            "Attributes"
        ]["QueueArn"]
        for url in (queues.url, queues.dlq_url)
    }
    assert sent == [{"SourceArn": arn[queues.dlq_url], "DestinationArn": arn[queues.url]}]
    assert (result.method, result.moved) == ("copy", 1)
    assert _depth(sqs, queues.dlq_url) == 0


@pytest.mark.usefixtures("cli_env")
def test_unknown_queue_name_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queue", "stats", "--queue-name", "no-such-queue"]) == 1
    assert capsys.readouterr().err.strip() == (
        "jobping queue: queue 'no-such-queue' not found: AWS.SimpleQueueService.NonExistentQueue"
    )


def test_bad_endpoint_fails_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("JOB_QUEUE_URL", "http://127.0.0.1:9/123456789012/jobs")
    assert main(["queue", "stats"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("jobping queue: EndpointConnectionError")


def test_every_command_has_help() -> None:
    for argv in (
        ["--help"],
        ["queue", "stats", "--help"],
        ["dlq", "peek", "--help"],
        ["dlq", "redrive", "--help"],
        ["migrate", "--help"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "jobping", *argv],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, (argv, result.stderr)
        assert "usage: jobping" in result.stdout
