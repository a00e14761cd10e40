"""Inputs checked offline against AWS's API models (botocore's service models).

Each test turns the registered inputs into the API request `pulumi up` would end up making
(RegisterTaskDefinition, CreateService, RegisterScalableTarget, PutScalingPolicy, PutMetricAlarm,
CreateSchedule, CreateQueue/SetQueueAttributes) and checks it twice: botocore's validator (types,
required members, unknown members, minimums) and a walker over the same shape model for what
botocore leaves to the service: `enum`, `pattern`, `min` and `max` on every member. Names Pulumi
generates are checked with the 8 characters its auto-naming appends.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from api_model import (
    AUTONAME_SUFFIX,
    autoname,
    python_pattern,
    queue_attributes,
    queue_range_errors,
    validation_errors,
)
from infra_snapshot import Record, Snapshot


def register_task_definition(inputs: dict[str, Any]) -> dict[str, Any]:
    platform = inputs["runtimePlatform"]
    return {
        "family": inputs["family"],
        "taskRoleArn": inputs["taskRoleArn"],
        "executionRoleArn": inputs["executionRoleArn"],
        "networkMode": inputs["networkMode"],
        "containerDefinitions": json.loads(inputs["containerDefinitions"]),
        "volumes": inputs["volumes"],
        "requiresCompatibilities": inputs["requiresCompatibilities"],
        "cpu": inputs["cpu"],
        "memory": inputs["memory"],
        "runtimePlatform": {
            "operatingSystemFamily": platform["operatingSystemFamily"],
            "cpuArchitecture": platform["cpuArchitecture"],
        },
    }


def put_scaling_policy(record: Record) -> dict[str, Any]:
    inputs = record["inputs"]
    config = inputs["stepScalingPolicyConfiguration"]
    steps = []
    for step in config["stepAdjustments"]:
        converted: dict[str, Any] = {"ScalingAdjustment": int(step["scalingAdjustment"])}
        for bound in ("Lower", "Upper"):
            if f"metricInterval{bound}Bound" in step:
                converted[f"MetricInterval{bound}Bound"] = float(
                    step[f"metricInterval{bound}Bound"]
                )
        steps.append(converted)
    return {
        "PolicyName": autoname(record),
        "ServiceNamespace": inputs["serviceNamespace"],
        "ResourceId": inputs["resourceId"],
        "ScalableDimension": inputs["scalableDimension"],
        "PolicyType": inputs["policyType"],
        "StepScalingPolicyConfiguration": {
            "AdjustmentType": config["adjustmentType"],
            "StepAdjustments": steps,
            "Cooldown": int(config["cooldown"]),
            "MetricAggregationType": config["metricAggregationType"],
        },
    }


def _dimensions(dimensions: dict[str, str]) -> list[dict[str, str]]:
    return [{"Name": k, "Value": v} for k, v in dimensions.items()]


def put_metric_alarm(record: Record) -> dict[str, Any]:
    inputs = record["inputs"]
    params: dict[str, Any] = {
        "AlarmName": autoname(record),
        "AlarmDescription": inputs["alarmDescription"],
        "ActionsEnabled": inputs["actionsEnabled"],
        "AlarmActions": inputs["alarmActions"],
        "OKActions": inputs.get("okActions", []),
        "EvaluationPeriods": int(inputs["evaluationPeriods"]),
        "Threshold": float(inputs["threshold"]),
        "ComparisonOperator": inputs["comparisonOperator"],
        "TreatMissingData": inputs["treatMissingData"],
    }
    if "datapointsToAlarm" in inputs:
        params["DatapointsToAlarm"] = int(inputs["datapointsToAlarm"])
    if "metricQueries" not in inputs:
        params.update(
            MetricName=inputs["metricName"],
            Namespace=inputs["namespace"],
            Statistic=inputs["statistic"],
            Period=int(inputs["period"]),
            Dimensions=_dimensions(inputs["dimensions"]),
        )
        return params
    params["Metrics"] = []
    for query in inputs["metricQueries"]:
        metric: dict[str, Any] = {"Id": query["id"], "ReturnData": query["returnData"]}
        if "expression" in query:
            metric.update(Expression=query["expression"], Label=query["label"])
        else:
            m = query["metric"]
            metric["MetricStat"] = {
                "Metric": {"Namespace": m["namespace"], "MetricName": m["metricName"],
                           "Dimensions": _dimensions(m["dimensions"])},
                "Period": int(m["period"]),
                "Stat": m["stat"],
            }  # fmt: skip
        params["Metrics"].append(metric)
    return params


def create_schedule(record: Record) -> dict[str, Any]:
    inputs = record["inputs"]
    target = inputs["target"]
    ecs = target["ecsParameters"]
    network = ecs["networkConfiguration"]
    return {
        "Name": autoname(record),
        "GroupName": inputs["groupName"] + AUTONAME_SUFFIX,
        "ScheduleExpression": inputs["scheduleExpression"],
        "ScheduleExpressionTimezone": inputs["scheduleExpressionTimezone"],
        "FlexibleTimeWindow": {"Mode": inputs["flexibleTimeWindow"]["mode"]},
        "State": inputs["state"],
        "Target": {
            "Arn": target["arn"],
            "RoleArn": target["roleArn"],
            "RetryPolicy": {
                "MaximumEventAgeInSeconds": int(target["retryPolicy"]["maximumEventAgeInSeconds"]),
                "MaximumRetryAttempts": int(target["retryPolicy"]["maximumRetryAttempts"]),
            },
            "DeadLetterConfig": {"Arn": target["deadLetterConfig"]["arn"]},
            "EcsParameters": {
                "TaskDefinitionArn": ecs["taskDefinitionArn"],
                "LaunchType": ecs["launchType"],
                "PlatformVersion": ecs["platformVersion"],
                "TaskCount": int(ecs["taskCount"]),
                "NetworkConfiguration": {
                    "awsvpcConfiguration": {
                        "Subnets": network["subnets"],
                        "SecurityGroups": network["securityGroups"],
                        "AssignPublicIp": "ENABLED" if network["assignPublicIp"] else "DISABLED",
                    }
                },
            },
        },
    }


def _network(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "awsvpcConfiguration": {
            "subnets": config["subnets"],
            "securityGroups": config["securityGroups"],
            "assignPublicIp": "ENABLED" if config.get("assignPublicIp") else "DISABLED",
        }
    }


def create_service(record: Record) -> dict[str, Any]:
    inputs = record["inputs"]
    params: dict[str, Any] = {
        "cluster": inputs["cluster"],
        "serviceName": autoname(record),
        "taskDefinition": inputs["taskDefinition"],
        "desiredCount": int(inputs["desiredCount"]),
        "platformVersion": inputs["platformVersion"],
        "networkConfiguration": _network(inputs["networkConfiguration"]),
        "deploymentConfiguration": {
            "maximumPercent": int(inputs["deploymentMaximumPercent"]),
            "minimumHealthyPercent": int(inputs["deploymentMinimumHealthyPercent"]),
            "deploymentCircuitBreaker": inputs["deploymentCircuitBreaker"],
        },
        "enableECSManagedTags": inputs["enableEcsManagedTags"],
        "propagateTags": inputs["propagateTags"],
        "enableExecuteCommand": inputs["enableExecuteCommand"],
    }
    if "launchType" in inputs:
        params["launchType"] = inputs["launchType"]
    if "capacityProviderStrategies" in inputs:
        params["capacityProviderStrategy"] = [
            {k: int(v) if k in ("weight", "base") else v for k, v in s.items()}
            for s in inputs["capacityProviderStrategies"]
        ]
    return params


def register_scalable_target(record: Record) -> dict[str, Any]:
    inputs = record["inputs"]
    return {
        "ServiceNamespace": inputs["serviceNamespace"],
        "ResourceId": inputs["resourceId"],
        "ScalableDimension": inputs["scalableDimension"],
        "MinCapacity": int(inputs["minCapacity"]),
        "MaxCapacity": int(inputs["maxCapacity"]),
    }


@pytest.mark.parametrize("task", ["worker-task", "scanner-task"])
def test_task_definitions_match_register_task_definition(stack: Snapshot, task: str) -> None:
    params = register_task_definition(stack.named(task)["inputs"])
    assert validation_errors("ecs", "RegisterTaskDefinition", params) == ""


def test_a_misspelt_container_field_fails_the_shape_check(stack: Snapshot) -> None:
    params = register_task_definition(stack.named("worker-task")["inputs"])
    container = params["containerDefinitions"][0]
    container["readOnlyRootFilesystem"] = container.pop("readonlyRootFilesystem")
    assert "readOnlyRootFilesystem" in validation_errors("ecs", "RegisterTaskDefinition", params)


def test_service_matches_create_service(stack: Snapshot) -> None:
    params = create_service(stack.named("worker-service"))
    assert validation_errors("ecs", "CreateService", params) == ""
    # CreateService: "If a capacityProviderStrategy is specified, the launchType parameter must
    # be omitted" (API reference); the model cannot say so.
    assert not ("launchType" in params and "capacityProviderStrategy" in params)


def test_scalable_target_matches_register_scalable_target(stack: Snapshot) -> None:
    params = register_scalable_target(stack.named("worker-scaling-target"))
    assert validation_errors("application-autoscaling", "RegisterScalableTarget", params) == ""


@pytest.mark.parametrize("policy", ["worker-scaling-out", "worker-scaling-in"])
def test_scaling_policies_match_put_scaling_policy(stack: Snapshot, policy: str) -> None:
    params = put_scaling_policy(stack.named(policy))
    assert validation_errors("application-autoscaling", "PutScalingPolicy", params) == ""


def test_every_alarm_matches_put_metric_alarm(stack: Snapshot) -> None:
    alarms = stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert len(alarms) == 8
    for alarm in alarms:
        params = put_metric_alarm(alarm)
        assert validation_errors("cloudwatch", "PutMetricAlarm", params) == "", alarm["name"]


def test_schedule_matches_create_schedule(stack: Snapshot) -> None:
    params = create_schedule(stack.named("scanner-schedule"))
    assert validation_errors("scheduler", "CreateSchedule", params) == ""


@pytest.mark.parametrize("queue", ["jobs-queue", "jobs-dlq", "scanner-schedule-dlq"])
def test_queue_attributes_match_create_queue(stack: Snapshot, queue: str) -> None:
    record = stack.named(queue)
    attributes = queue_attributes(stack, record)
    params = {"QueueName": autoname(record), "Attributes": attributes}
    assert validation_errors("sqs", "CreateQueue", params) == ""
    assert queue_range_errors(attributes) == []
    assert {"MessageRetentionPeriod", "SqsManagedSseEnabled", "Policy"} <= set(attributes)


def test_a_wrong_type_fails_the_schedule_shape_check(stack: Snapshot) -> None:
    params = create_schedule(stack.named("scanner-schedule"))
    params["Target"]["RetryPolicy"]["MaximumRetryAttempts"] = "two"
    assert "MaximumRetryAttempts" in validation_errors("scheduler", "CreateSchedule", params)


def test_constraints_beyond_types_are_enforced(stack: Snapshot) -> None:
    """The control: values of the right type that AWS still rejects fail here."""
    schedule = create_schedule(stack.named("scanner-schedule"))
    schedule["Name"] = "scanner schedule"  # pattern [0-9a-zA-Z-_.]+
    schedule["Target"]["EcsParameters"]["LaunchType"] = "SPOT"  # enum
    schedule["Target"]["RetryPolicy"]["MaximumRetryAttempts"] = 200  # max 185
    errors = validation_errors("scheduler", "CreateSchedule", schedule)
    assert "does not match" in errors
    assert "is not one of" in errors
    assert "above the maximum 185" in errors
    alarm = put_metric_alarm(stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")[0])
    alarm["AlarmName"] = "x" * 256  # max 255
    assert "above the maximum 255" in validation_errors("cloudwatch", "PutMetricAlarm", alarm)
    service = create_service(stack.named("worker-service"))
    service["propagateTags"] = "CLUSTER"  # enum TASK_DEFINITION | SERVICE | NONE
    assert "is not one of" in validation_errors("ecs", "CreateService", service)
    assert queue_range_errors({"ReceiveMessageWaitTimeSeconds": "30"}) != []


def test_java_patterns_read_like_the_service_reads_them() -> None:
    any_text = python_pattern(r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]*")
    assert any_text.fullmatch("service/cluster/worker \U0001f600")
    assert not any_text.fullmatch("bell\x07")
    tag = python_pattern(r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)")
    assert tag.fullmatch("Équipe 7: jobs")
    assert not tag.fullmatch("semi;colon")
