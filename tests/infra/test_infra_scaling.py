"""Scaling policies and alarms, the scanner schedule, network, database and dashboard."""

from __future__ import annotations

import json
from typing import Any

from infra_snapshot import Snapshot
from metric_math import Series, evaluate

from components.scaling import STEP_LIMIT
from components.settings_types import COLD_START_SECONDS


def test_scaling_target_spans_min_to_max_tasks(stack: Snapshot) -> None:
    w = stack.setting("worker")
    target = stack.named("worker-scaling-target")["inputs"]
    assert (target["minCapacity"], target["maxCapacity"]) == (w["minTasks"], w["maxTasks"])
    assert target["resourceId"] == "service/worker-cluster/worker-service"
    assert target["scalableDimension"] == "ecs:service:DesiredCount"


def backlog_alarm(stack: Snapshot) -> dict[str, Any]:
    """The scale-out alarm's inputs."""
    alarm: dict[str, Any] = stack.named("worker-scaling-backlog")["inputs"]
    return alarm


def tasks_added(stack: Snapshot, visible: Series, running: Series, minutes: int = 3) -> int:
    """What one invocation of the scale-out policy adds, for these metric series (0: no alarm).

    The alarm's own expression is evaluated; its latest datapoint is compared with the threshold
    (one evaluation period), and the step whose bounds hold the breach gives the adjustment.
    """
    alarm = backlog_alarm(stack)
    (expression,) = [q["expression"] for q in alarm["metricQueries"] if q["returnData"]]
    series = evaluate(expression, {"visible": visible, "running": running}, range(minutes))
    if not series:
        return 0
    value = series[max(series)]
    if value < alarm["threshold"]:
        return 0
    config = stack.named("worker-scaling-out")["inputs"]["stepScalingPolicyConfiguration"]
    breach = value - alarm["threshold"]
    for step in config["stepAdjustments"]:
        upper = step.get("metricIntervalUpperBound")
        if float(step["metricIntervalLowerBound"]) <= breach and (
            upper is None or breach < float(upper)
        ):
            return int(step["scalingAdjustment"])
    raise AssertionError(f"no step covers a breach of {breach}")


def test_scale_out_alarm_reads_the_backlog_and_the_running_tasks(stack: Snapshot) -> None:
    alarm = backlog_alarm(stack)
    queries = {q["id"]: q for q in alarm["metricQueries"]}
    visible, running = queries["visible"]["metric"], queries["running"]["metric"]
    assert (visible["namespace"], visible["metricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert visible["dimensions"] == {"QueueName": "jobs-queue"}
    # Container Insights' per-service task count (enabled on the cluster).
    assert (running["namespace"], running["metricName"]) == (
        "ECS/ContainerInsights",
        "RunningTaskCount",
    )
    service = {"ClusterName": "worker-cluster", "ServiceName": "worker-service"}
    assert running["dimensions"] == service
    assert [q["id"] for q in alarm["metricQueries"] if q["returnData"]] == ["tasks_short"]
    assert (alarm["threshold"], alarm["comparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert alarm["evaluationPeriods"] == alarm["datapointsToAlarm"] == 1
    assert alarm["treatMissingData"] == "notBreaching"
    assert alarm["alarmActions"] == [stack.named("worker-scaling-out")["outputs"]["arn"]]
    cluster = stack.named("worker-cluster")["inputs"]
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]


def test_an_empty_service_starts_one_task_for_one_visible_message(stack: Snapshot) -> None:
    # With no task running, Container Insights may publish no RunningTaskCount at all.
    assert tasks_added(stack, visible={0: 0, 1: 1, 2: 1}, running={}) == 1
    assert tasks_added(stack, visible={2: 1}, running={0: 0, 1: 0, 2: 0}) == 1


def test_a_running_task_absorbs_a_small_backlog(stack: Snapshot) -> None:
    per_task = stack.setting("worker")["backlogPerTask"]
    assert tasks_added(stack, visible={2: per_task}, running={2: 1}) == 0
    assert tasks_added(stack, visible={2: per_task + 1}, running={2: 1}) == 1


def test_scale_out_adds_only_the_tasks_the_backlog_needs(stack: Snapshot) -> None:
    w = stack.setting("worker")
    per_task, most = w["backlogPerTask"], w["maxTasks"]
    for running in range(most):
        for needed in range(running + 1, most + 1):
            visible = {2: needed * per_task}
            assert tasks_added(stack, visible, {2: running}) == needed - running, (running, needed)


def test_a_late_task_count_is_not_read_as_no_task(stack: Snapshot) -> None:
    per_task = stack.setting("worker")["backlogPerTask"]
    # RunningTaskCount has not arrived for the latest minute: the last known count stands.
    late = tasks_added(stack, {0: 2 * per_task, 1: 2 * per_task}, {0: 2}, minutes=2)
    assert late == 0


def test_a_late_queue_datapoint_does_not_hide_the_backlog(stack: Snapshot) -> None:
    per_task = stack.setting("worker")["backlogPerTask"]
    # SQS has not published the latest minute yet; the last published one still counts.
    assert tasks_added(stack, {0: 3 * per_task}, {0: 1, 1: 1}, minutes=2) == 2


def test_scale_out_steps_add_exactly_the_shortfall(stack: Snapshot) -> None:
    w = stack.setting("worker")
    config = stack.named("worker-scaling-out")["inputs"]["stepScalingPolicyConfiguration"]
    assert config["adjustmentType"] == "ChangeInCapacity"
    steps = config["stepAdjustments"]
    assert len(steps) == min(w["maxTasks"], STEP_LIMIT)
    # Bounds are offsets from the alarm threshold (1 task short): step k covers a shortfall of k.
    for k, step in enumerate(steps, start=1):
        assert float(step["metricIntervalLowerBound"]) == k - 1
        assert step["scalingAdjustment"] == k
    assert [float(s["metricIntervalUpperBound"]) for s in steps[:-1]] == list(range(1, len(steps)))
    assert "metricIntervalUpperBound" not in steps[-1]


def test_scale_out_cooldown_outlasts_a_cold_start(stack: Snapshot) -> None:
    w = stack.setting("worker")
    config = stack.named("worker-scaling-out")["inputs"]["stepScalingPolicyConfiguration"]
    assert config["cooldown"] == w["scaleOutCooldownSeconds"] >= COLD_START_SECONDS


def test_scale_in_waits_for_no_visible_and_no_in_flight_jobs(stack: Snapshot) -> None:
    w = stack.setting("worker")
    alarm = stack.named("worker-scaling-idle")["inputs"]
    queries = {q["id"]: q for q in alarm["metricQueries"]}
    assert queries["visible"]["metric"]["metricName"] == "ApproximateNumberOfMessagesVisible"
    assert queries["inflight"]["metric"]["metricName"] == "ApproximateNumberOfMessagesNotVisible"
    assert queries["backlog"]["expression"] == "visible + inflight"
    assert [q["id"] for q in alarm["metricQueries"] if q["returnData"]] == ["backlog"]
    assert (alarm["threshold"], alarm["comparisonOperator"]) == (0, "LessThanOrEqualToThreshold")
    assert alarm["evaluationPeriods"] == alarm["datapointsToAlarm"] == w["scaleInIdleMinutes"]
    assert alarm["alarmActions"] == [stack.named("worker-scaling-in")["outputs"]["arn"]]
    policy = stack.named("worker-scaling-in")["inputs"]["stepScalingPolicyConfiguration"]
    assert policy["adjustmentType"] == "ExactCapacity"
    assert policy["stepAdjustments"] == [
        {"metricIntervalUpperBound": "0", "scalingAdjustment": w["minTasks"]}
    ]
    assert policy["cooldown"] == w["scaleInCooldownSeconds"]


def test_schedule_runs_the_scanner_task_on_the_cluster(stack: Snapshot) -> None:
    s = stack.setting("scanner")
    schedule = stack.named("scanner-schedule")["inputs"]
    assert schedule["scheduleExpression"] == s["schedule"]
    assert schedule["scheduleExpressionTimezone"] == s["timezone"]
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    target = schedule["target"]
    assert target["arn"] == stack.named("worker-cluster")["outputs"]["arn"]
    assert target["roleArn"] == stack.named("scanner-scheduler-role")["outputs"]["arn"]
    assert target["deadLetterConfig"] == {
        "arn": stack.named("scanner-schedule-dlq")["outputs"]["arn"]
    }
    assert target["retryPolicy"] == {"maximumRetryAttempts": 2, "maximumEventAgeInSeconds": 3600}
    ecs = target["ecsParameters"]
    assert ecs["taskDefinitionArn"] == stack.named("scanner-task")["outputs"]["arn"]
    assert (ecs["launchType"], ecs["platformVersion"], ecs["taskCount"]) == ("FARGATE", "LATEST", 1)
    assert (
        ecs["networkConfiguration"]
        == stack.named("worker-service")["inputs"]["networkConfiguration"]
    )


def test_non_zero_scanner_exit_notifies(stack: Snapshot) -> None:
    rule = stack.named("scanner-failed-rule")["inputs"]
    pattern = json.loads(rule["eventPattern"])
    assert pattern["detail-type"] == ["ECS Task State Change"]
    assert pattern["detail"]["group"] == [f"family:jobping-{stack.stack}-scanner"]
    assert pattern["detail"]["containers"] == {"exitCode": [{"anything-but": 0}]}
    assert pattern["detail"]["lastStatus"] == ["STOPPED"]
    target = stack.named("scanner-failed-notify")["inputs"]
    assert target["arn"] == stack.outputs["alarmTopicArn"]
    alarm = stack.named("scanner-failed")["inputs"]
    assert (alarm["namespace"], alarm["metricName"]) == ("AWS/Events", "MatchedEvents")
    assert alarm["alarmActions"] == [stack.outputs["alarmTopicArn"]]


def test_tasks_admit_nothing_and_the_db_admits_only_tasks(stack: Snapshot) -> None:
    assert not stack.of_type("aws:ec2/securityGroup:SecurityGroup")[0]["inputs"].get("ingress")
    (ingress,) = stack.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert ingress["inputs"]["referencedSecurityGroupId"] == "network-tasks-sg-id"
    assert ingress["inputs"]["securityGroupId"] == "db-sg-id"
    assert ingress["inputs"]["fromPort"] == ingress["inputs"]["toPort"] == 5433
    assert "cidrIpv4" not in ingress["inputs"]
    egress = stack.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert sorted(e["inputs"]["toPort"] for e in egress) == [443, 5433]


def test_database_is_private_encrypted_and_tls_only(stack: Snapshot) -> None:
    d = stack.setting("database")
    db = stack.named("db-instance")["inputs"]
    assert (db["engine"], db["engineVersion"]) == ("postgres", "16")
    assert db["storageEncrypted"] is True
    assert db["publiclyAccessible"] is False
    assert db["manageMasterUserPassword"] is True
    assert "password" not in db
    assert db["backupRetentionPeriod"] >= 7
    assert db["multiAz"] is d["multiAz"]
    assert db["deletionProtection"] is d["deletionProtection"]
    assert db["instanceClass"] == d["instanceClass"]
    params = stack.named("db-params")["inputs"]
    assert params["family"] == "postgres16"
    assert {"name": "rds.force_ssl", "value": "1"} in params["parameters"]
    assert db["parameterGroupName"] == stack.named("db-params")["outputs"]["name"]


def test_prod_is_safe(prod: Snapshot) -> None:
    db = prod.named("db-instance")["inputs"]
    assert db["multiAz"] is True
    assert db["deletionProtection"] is True
    assert prod.named("worker-scaling-target")["inputs"]["minCapacity"] >= 1
    assert prod.named("worker-logs")["inputs"]["retentionInDays"] >= 365


def test_dashboard_shows_queue_tasks_and_jobs(stack: Snapshot) -> None:
    body = json.loads(stack.named("dashboard-dashboard")["inputs"]["dashboardBody"])
    metrics = {m[1] for w in body["widgets"] for m in w["properties"]["metrics"]}
    assert metrics >= {
        "ApproximateNumberOfMessagesVisible",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateAgeOfOldestMessage",
        "RunningTaskCount",
        "DesiredTaskCount",
        "PendingTaskCount",
        "CPUUtilization",
        "MemoryUtilization",
        "JobsProcessed",
        "JobsFailed",
    }
    dlq_widget = [w for w in body["widgets"] if w["properties"]["title"] == "Dead letters"]
    assert dlq_widget[0]["properties"]["metrics"][0][-1] == "jobs-dlq"
    filters = stack.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")
    assert {f["inputs"]["metricTransformation"]["name"] for f in filters} == {
        "JobsProcessed",
        "JobsFailed",
    }
    assert all(f["inputs"]["logGroupName"] == "worker-logs" for f in filters)
