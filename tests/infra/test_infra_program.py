"""The real program under mocks, per stack file: components, key inputs, parentage, outputs."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from infra_snapshot import ROOT, Snapshot

from components.settings_types import DEPLOYMENT_MAXIMUM_PERCENT
from components.worker import DeploymentRolledBack, deployed_revision
from devtools.offline import INVOKES
from jobping import envvars

COMPONENTS = {
    "jobping:index:AlarmTopic",
    "jobping:index:JobQueue",
    "jobping:index:Network",
    "jobping:index:Database",
    "jobping:index:ContainerImage",
    "jobping:index:WorkerService",
    "jobping:index:QueueScaling",
    "jobping:index:ScannerSchedule",
    "jobping:index:Dashboard",
}


def containers(record: dict[str, object]) -> list[dict[str, object]]:
    """The essential (application) containers; the `migrate` step is tested on its own."""
    inputs = record["inputs"]
    assert isinstance(inputs, dict)
    found: list[dict[str, object]] = json.loads(inputs["containerDefinitions"])
    return [c for c in found if c["essential"]]


def environment(record: dict[str, object]) -> dict[str, str]:
    (container,) = containers(record)
    variables = container["environment"]
    assert isinstance(variables, list)
    return {v["name"]: v["value"] for v in variables}


def test_every_component_is_registered(stack: Snapshot) -> None:
    assert {r["type"] for r in stack.records if r["type"].startswith("jobping:")} == COMPONENTS


def test_every_resource_is_parented_to_a_component(stack: Snapshot) -> None:
    for record in stack.records:
        parent = stack.parent_of(record)
        if record["type"] in COMPONENTS and record["type"] != "jobping:index:QueueScaling":
            assert parent is None, record["name"]
        else:
            assert parent is not None, f"{record['name']} is not parented"
            assert parent["type"] in COMPONENTS
            assert record["name"].startswith(parent["name"].split("-")[0])


def test_mocks_answer_every_invoke_the_program_makes(stack: Snapshot) -> None:
    assert set(stack.calls) <= set(INVOKES)
    assert "aws:ecr/getAuthorizationToken:getAuthorizationToken" in stack.calls


def test_outputs_name_queue_cluster_service_image_dashboard_schedule(stack: Snapshot) -> None:
    out = stack.outputs
    assert out["queueUrl"] == stack.named("jobs-queue")["outputs"]["url"]
    assert out["queueArn"] == stack.named("jobs-queue")["outputs"]["arn"]
    assert out["dlqUrl"] == stack.named("jobs-dlq")["outputs"]["url"]
    assert out["clusterName"] == stack.named("worker-cluster")["outputs"]["name"]
    assert out["serviceName"] == stack.named("worker-service")["outputs"]["name"]
    assert re.fullmatch(r".+\.dkr\.ecr\..+/image-repo@sha256:[0-9a-f]{64}", out["imageDigest"])
    assert out["dashboardUrl"].endswith(f"#dashboards:name=jobping-{stack.stack}")
    assert out["scannerScheduleName"] == stack.named("scanner-schedule")["outputs"]["name"]


def test_queue_and_dlq_follow_the_stack_file(stack: Snapshot) -> None:
    q = stack.setting("queue")
    main, dlq = stack.named("jobs-queue")["inputs"], stack.named("jobs-dlq")["inputs"]
    assert main["sqsManagedSseEnabled"] is True
    assert dlq["sqsManagedSseEnabled"] is True
    assert main["visibilityTimeoutSeconds"] == q["visibilityTimeoutSeconds"]
    assert main["messageRetentionSeconds"] == q["retentionSeconds"]
    assert dlq["messageRetentionSeconds"] == q["dlqRetentionSeconds"]
    redrive = json.loads(stack.named("jobs-redrive")["inputs"]["redrivePolicy"])
    assert redrive == {
        "deadLetterTargetArn": stack.named("jobs-dlq")["outputs"]["arn"],
        "maxReceiveCount": q["maxReceiveCount"],
    }
    allow = json.loads(stack.named("jobs-redrive-allow")["inputs"]["redriveAllowPolicy"])
    assert allow == {"redrivePermission": "byQueue", "sourceQueueArns": [stack.outputs["queueArn"]]}


def test_queue_policies_deny_insecure_transport(stack: Snapshot) -> None:
    for name in ("jobs-queue-policy", "jobs-dlq-policy", "scanner-schedule-dlq-policy"):
        (statement,) = json.loads(stack.named(name)["inputs"]["policy"])["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_queue_alarms_notify_the_topic_at_the_configured_thresholds(stack: Snapshot) -> None:
    q, topic = stack.setting("queue"), stack.outputs["alarmTopicArn"]
    visible, oldest = "ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"
    expected = {
        "jobs-dlq-not-empty": (visible, 0, "jobs-dlq"),
        "jobs-oldest-message": (oldest, q["oldestMessageAlarmSeconds"], "jobs-queue"),
        "jobs-depth": (visible, q["depthAlarmThreshold"], "jobs-queue"),
    }
    for name, (metric, threshold, queue) in expected.items():
        alarm = stack.named(name)["inputs"]
        assert (alarm["metricName"], alarm["threshold"]) == (metric, threshold)
        assert alarm["dimensions"] == {"QueueName": queue}
        assert alarm["comparisonOperator"] == "GreaterThanThreshold"
        assert alarm["alarmActions"] == [topic]
        assert alarm["actionsEnabled"] is True


def test_repository_is_immutable_scanned_and_expires_images(stack: Snapshot) -> None:
    repo = stack.named("image-repo")["inputs"]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    rules = json.loads(stack.named("image-lifecycle")["inputs"]["policy"])["rules"]
    assert [r["selection"]["tagStatus"] for r in rules] == ["untagged", "any"]


def test_image_is_built_for_the_platform_with_a_content_tag(stack: Snapshot) -> None:
    image = stack.named("image-image")["inputs"]
    arch = stack.setting("worker")["architecture"]
    assert image["build"]["platform"] == ("linux/arm64" if arch == "ARM64" else "linux/amd64")
    assert image["build"]["dockerfile"].endswith("/Dockerfile")
    assert re.fullmatch(r".+/image-repo:[0-9a-f]{16}", image["imageName"])
    assert "latest" not in image["imageName"]


def test_task_definitions_run_the_pushed_digest(stack: Snapshot) -> None:
    for name in ("worker-task", "scanner-task"):
        (container,) = containers(stack.named(name))
        assert container["image"] == stack.outputs["imageDigest"]


def test_worker_task_definition_is_hardened(stack: Snapshot) -> None:
    w = stack.setting("worker")
    task = stack.named("worker-task")
    inputs = task["inputs"]
    (c,) = containers(task)
    assert (inputs["cpu"], inputs["memory"]) == (str(w["cpu"]), str(w["memory"]))
    assert inputs["runtimePlatform"] == {"operatingSystemFamily": "LINUX",
                                         "cpuArchitecture": w["architecture"]}  # fmt: skip
    assert inputs["networkMode"] == "awsvpc"
    assert inputs["requiresCompatibilities"] == ["FARGATE"]
    assert inputs["volumes"] == [{"name": "tmp"}]
    assert c["user"] == "10001:10001"
    assert c["readonlyRootFilesystem"] is True
    assert c["mountPoints"] == [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}]
    assert c["stopTimeout"] == w["stopTimeoutSeconds"] == 120
    assert c["command"] == ["python", "-m", "worker"]
    check = c["healthCheck"]["command"]
    assert check[:3] == ["CMD", "python", "-c"]
    assert "urllib.request" in check[3]
    assert "http://127.0.0.1:8080/health" in check[3]
    assert c["logConfiguration"]["logDriver"] == "awslogs"
    assert inputs["taskRoleArn"] != inputs["executionRoleArn"]


def test_worker_environment_names_the_endpoint_and_app_user_never_a_password(
    stack: Snapshot,
) -> None:
    env = environment(stack.named("worker-task"))
    instance = stack.named("db-instance")
    assert env[envvars.DATABASE_IAM_USER] == envvars.APP_DATABASE_USER
    assert envvars.DATABASE_SECRET_ARN not in env
    assert env[envvars.DATABASE_HOST] == instance["outputs"]["address"]
    assert env[envvars.DATABASE_PORT] == "5433"
    assert env[envvars.DATABASE_SSLMODE] == "verify-full"
    assert env[envvars.JOB_QUEUE_URL] == stack.outputs["queueUrl"]
    assert env[envvars.WORKER_CONCURRENCY] == str(stack.setting("worker")["concurrency"])
    assert int(env[envvars.WORKER_DRAIN_SECONDS]) < 120
    assert env[envvars.HEALTH_PORT] == "8080"
    assert env[envvars.LOG_FORMAT] == "json"
    assert not [k for k in env if re.search("PASSWORD|TOKEN|KEY", k)]
    assert not [v for v in env.values() if "@" in v and "://" in v]


def test_scanner_task_runs_the_scanner_with_its_sources(stack: Snapshot) -> None:
    (c,) = containers(stack.named("scanner-task"))
    env = environment(stack.named("scanner-task"))
    assert c["command"] == ["python", "-m", "scanner"]
    assert c["readonlyRootFilesystem"] is True
    assert env[envvars.SCANNER_SOURCES] == stack.setting("scanner")["sources"]
    assert env[envvars.JOB_QUEUE_URL] == stack.outputs["queueUrl"]
    assert stack.named("scanner-task")["inputs"]["family"] == f"jobping-{stack.stack}-scanner"


def test_worker_service_placement_and_deployment(stack: Snapshot) -> None:
    w = stack.setting("worker")
    service = stack.named("worker-service")
    inputs = service["inputs"]
    dev_default_vpc = stack.setting("network")["mode"] == "defaultVpc"
    assert inputs["networkConfiguration"]["assignPublicIp"] is dev_default_vpc
    assert inputs["networkConfiguration"]["securityGroups"] == ["network-tasks-sg-id"]
    assert inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert inputs["deploymentMaximumPercent"] == DEPLOYMENT_MAXIMUM_PERCENT
    assert inputs["waitForSteadyState"] is w["waitForSteadyState"]
    provider = "FARGATE_SPOT" if w["spot"] else "FARGATE"
    assert inputs["capacityProviderStrategies"] == [{"capacityProvider": provider, "weight": 1}]
    assert service["ignoreChanges"] == ["desiredCount"]
    assert inputs["desiredCount"] == w["minTasks"]
    cluster = stack.named("worker-cluster")["inputs"]
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    providers = stack.named("worker-capacity")["inputs"]["capacityProviders"]
    assert sorted(providers) == ["FARGATE", "FARGATE_SPOT"]


def test_public_ip_only_in_the_dev_default_vpc(dev: Snapshot, prod: Snapshot) -> None:
    assert dev.named("worker-service")["inputs"]["networkConfiguration"]["assignPublicIp"] is True
    assert prod.named("worker-service")["inputs"]["networkConfiguration"]["assignPublicIp"] is False
    private = prod.named("network-vpc")["outputs"]["privateSubnetIds"]
    assert prod.named("worker-service")["inputs"]["networkConfiguration"]["subnets"] == private


@pytest.mark.parametrize("name", ["worker-logs", "scanner-logs", "db-log-postgresql"])
def test_log_groups_keep_the_configured_retention(stack: Snapshot, name: str) -> None:
    days = stack.setting("logRetentionDays")
    assert stack.named(name)["inputs"]["retentionInDays"] == days


def test_a_capacity_provider_change_redeploys_in_place(stack: Snapshot) -> None:
    # Flipping worker.spot changes the strategy; without force_new_deployment the provider
    # replaces the service instead of updating it.
    inputs = stack.named("worker-service")["inputs"]
    assert inputs["capacityProviderStrategies"]
    assert inputs["forceNewDeployment"] is True
    assert "launchType" not in inputs


#: The program under mocks whose provider reads the service back on the previous revision, as
#: after ECS's circuit breaker rolled a deployment back.
ROLLED_BACK = """
import sys
import devtools.offline as offline
mock_outputs = offline.mock_outputs
def rolled_back(typ, name, inputs):
    outputs = mock_outputs(typ, name, inputs)
    if typ == "aws:ecs/service:Service":
        outputs["taskDefinition"] = inputs["taskDefinition"].rsplit(":", 1)[0] + ":0"
    return outputs
offline.mock_outputs = rolled_back
offline.run(offline.REPO_ROOT / sys.argv[1])
"""


@pytest.mark.parametrize(("stack_name", "fails"), [("prod", True), ("dev", False)])
def test_a_rolled_back_deployment_fails_the_update_where_it_is_waited_for(
    stack_name: str, fails: bool
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", ROLLED_BACK, f"Pulumi.{stack_name}.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (result.returncode != 0) is fails, result.stderr[-2000:]
    assert ("ECS rolled it back" in result.stderr) is fails


def test_deployed_revision_accepts_the_requested_one_only() -> None:
    new = "arn:aws:ecs:us-east-1:123456789012:task-definition/jobping-prod-worker:7"
    assert deployed_revision(new, new) == new
    with pytest.raises(DeploymentRolledBack, match="jobping-prod-worker:6, not"):
        deployed_revision(new, new.replace(":7", ":6"))
