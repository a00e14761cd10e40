"""The job queue's settings: one definition and one validator for the stack and the local system."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from infra_snapshot import ROOT, Snapshot, stack_file_config, write_stack_file

from components.settings import SettingsError, StackSettings, parse_settings
from devtools.local.queues import create_job_queues
from devtools.local.system import queue_settings_from_stack
from jobping.queueconfig import DAY, QueueSettings

DEV = ROOT / "Pulumi.dev.yaml"


def parse(config: dict[str, Any]) -> StackSettings:
    """The stack's settings from a stack file's config map."""
    return parse_settings(lambda key: copy.deepcopy(config.get(f"jobping:{key}")))


def test_queue_settings_are_plain_integers_for_the_local_system() -> None:
    raw = yaml.safe_load((DEV).read_text())["config"]["jobping:queue"]
    for key in (
        "visibilityTimeoutSeconds",
        "maxReceiveCount",
        "retentionSeconds",
        "dlqRetentionSeconds",
    ):
        assert isinstance(raw[key], int), key
    q = parse(stack_file_config("dev")).queue
    assert (q.visibility_timeout_seconds, q.max_receive_count) == (300, 3)
    assert (q.retention_seconds, q.dlq_retention_seconds) == (4 * 86400, 14 * 86400)


def test_the_local_system_reads_the_queue_the_stack_deploys() -> None:
    local = queue_settings_from_stack(DEV)
    assert local == parse(stack_file_config("dev")).queue
    assert local.depth_alarm_threshold == 500  # every key, not only those SQS itself takes


def test_a_stack_file_without_queue_settings_gets_the_same_defaults(tmp_path: Path) -> None:
    config = stack_file_config("dev")
    del config["jobping:queue"]
    local = queue_settings_from_stack(write_stack_file(tmp_path, "dev", config))
    assert local == parse(config).queue == QueueSettings()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("maxReceiveCount", 1),
        ("visibilityTimeoutSeconds", 29),
        ("visibilityTimeoutSeconds", "300"),
        ("retentionSeconds", 15 * DAY),
        ("dlqRetentionSeconds", 3600),
        ("oldestMessageAlarmSeconds", 5 * DAY),
    ],
)
def test_the_local_system_refuses_the_queue_settings_the_stack_refuses(
    tmp_path: Path, field: str, value: object
) -> None:
    config = stack_file_config("dev")
    config["jobping:queue"][field] = value
    with pytest.raises(SettingsError) as stack_error:
        parse(config)
    with pytest.raises(SettingsError) as local_error:
        queue_settings_from_stack(write_stack_file(tmp_path, "dev", config))
    assert local_error.value.key == stack_error.value.key == f"jobping:queue.{field}"
    assert str(local_error.value) == str(stack_error.value)


def test_local_queues_carry_the_redrive_attributes_the_stack_declares(
    sqs: Any, dev: Snapshot
) -> None:
    sent: list[dict[str, str]] = []  # moto keeps no RedriveAllowPolicy: read what was sent

    def record(params: dict[str, Any], **_: object) -> None:
        sent.append(dict(params["Attributes"]))

    hook = "before-parameter-build.sqs.SetQueueAttributes"
    sqs.meta.events.register(hook, record)
    try:
        local = create_job_queues(sqs, "jobs-like-dev", queue_settings_from_stack(DEV))
    finally:
        sqs.meta.events.unregister(hook, record)
    main = sqs.get_queue_attributes(QueueUrl=local.url, AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=local.dlq_url, AttributeNames=["All"])["Attributes"]
    declared = {r["name"]: r["inputs"] for r in dev.records}
    redrive = json.loads(declared["jobs-redrive"]["redrivePolicy"])
    allow = json.loads(declared["jobs-redrive-allow"]["redriveAllowPolicy"])
    assert json.loads(main["RedrivePolicy"]) == {**redrive, "deadLetterTargetArn": local.dlq_arn}
    assert [json.loads(a["RedriveAllowPolicy"]) for a in sent] == [
        {**allow, "sourceQueueArns": [local.arn]}
    ]
    assert int(main["VisibilityTimeout"]) == declared["jobs-queue"]["visibilityTimeoutSeconds"]
    assert int(main["MessageRetentionPeriod"]) == declared["jobs-queue"]["messageRetentionSeconds"]
    assert int(dlq["MessageRetentionPeriod"]) == declared["jobs-dlq"]["messageRetentionSeconds"]
