"""Scaling policies and alarms, the scanner schedule, network, database and dashboard."""

from __future__ import annotations

import json

from infra_snapshot import Snapshot


def test_scaling_target_spans_min_to_max_tasks(stack: Snapshot) -> None:
    w = stack.setting("worker")
    target = stack.named("worker-scaling-target")["inputs"]
    assert (target["minCapacity"], target["maxCapacity"]) == (w["minTasks"], w["maxTasks"])
    assert target["resourceId"] == "service/worker-cluster/worker-service"
    assert target["scalableDimension"] == "ecs:service:DesiredCount"


def test_first_visible_message_starts_a_task(stack: Snapshot) -> None:
    alarm = stack.named("worker-scaling-backlog")["inputs"]
    assert alarm["metricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["dimensions"] == {"QueueName": "jobs-queue"}
    assert (alarm["threshold"], alarm["comparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert alarm["evaluationPeriods"] == 1
    assert alarm["alarmActions"] == [stack.named("worker-scaling-out")["outputs"]["arn"]]


def test_scale_out_steps_grow_with_the_backlog(stack: Snapshot) -> None:
    w = stack.setting("worker")
    config = stack.named("worker-scaling-out")["inputs"]["stepScalingPolicyConfiguration"]
    assert config["adjustmentType"] == "ChangeInCapacity"
    assert config["cooldown"] == w["scaleOutCooldownSeconds"]
    steps = config["stepAdjustments"]
    configured = w["scaleOutSteps"]
    assert [s["scalingAdjustment"] for s in steps] == [c["tasks"] for c in configured]
    # Bounds are offsets from the alarm threshold (1 message): step i covers backlog_i up to
    # the next step's backlog.
    assert [float(s["metricIntervalLowerBound"]) for s in steps] == [
        c["backlog"] - 1 for c in configured
    ]
    assert steps[0]["metricIntervalLowerBound"] == "0"
    assert [float(s["metricIntervalUpperBound"]) for s in steps[:-1]] == [
        c["backlog"] - 1 for c in configured[1:]
    ]
    assert "metricIntervalUpperBound" not in steps[-1]


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
