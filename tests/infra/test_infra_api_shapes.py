"""Inputs checked offline against AWS's API shapes (botocore's service models).

Each test turns the registered inputs into the API request `pulumi up` would end up making
(RegisterTaskDefinition, PutScalingPolicy, PutMetricAlarm, CreateSchedule) and validates it, so
a misspelt container field or a wrong type fails here rather than on a real account.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from infra_snapshot import Snapshot

SESSION = botocore.session.get_session()


def validation_errors(service: str, operation: str, params: dict[str, Any]) -> str:
    """botocore's report for `params` against the operation's input shape ('' when valid)."""
    shape = SESSION.get_service_model(service).operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    return str(report.generate_report()) if report.has_errors() else ""


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


def put_scaling_policy(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
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
        "PolicyName": name,
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


def put_metric_alarm(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {
        "AlarmName": name,
        "AlarmDescription": inputs["alarmDescription"],
        "ActionsEnabled": inputs["actionsEnabled"],
        "AlarmActions": inputs["alarmActions"],
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


def create_schedule(inputs: dict[str, Any]) -> dict[str, Any]:
    target = inputs["target"]
    ecs = target["ecsParameters"]
    network = ecs["networkConfiguration"]
    return {
        "Name": "scanner",
        "GroupName": inputs["groupName"],
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


@pytest.mark.parametrize("task", ["worker-task", "scanner-task"])
def test_task_definitions_match_register_task_definition(stack: Snapshot, task: str) -> None:
    params = register_task_definition(stack.named(task)["inputs"])
    assert validation_errors("ecs", "RegisterTaskDefinition", params) == ""


def test_a_misspelt_container_field_fails_the_shape_check(stack: Snapshot) -> None:
    params = register_task_definition(stack.named("worker-task")["inputs"])
    container = params["containerDefinitions"][0]
    container["readOnlyRootFilesystem"] = container.pop("readonlyRootFilesystem")
    assert "readOnlyRootFilesystem" in validation_errors("ecs", "RegisterTaskDefinition", params)


@pytest.mark.parametrize("policy", ["worker-scaling-out", "worker-scaling-in"])
def test_scaling_policies_match_put_scaling_policy(stack: Snapshot, policy: str) -> None:
    params = put_scaling_policy(policy, stack.named(policy)["inputs"])
    assert validation_errors("application-autoscaling", "PutScalingPolicy", params) == ""


def test_every_alarm_matches_put_metric_alarm(stack: Snapshot) -> None:
    alarms = stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert len(alarms) == 8
    for alarm in alarms:
        params = put_metric_alarm(alarm["name"], alarm["inputs"])
        assert validation_errors("cloudwatch", "PutMetricAlarm", params) == "", alarm["name"]


def test_schedule_matches_create_schedule(stack: Snapshot) -> None:
    params = create_schedule(stack.named("scanner-schedule")["inputs"])
    assert validation_errors("scheduler", "CreateSchedule", params) == ""


def test_a_wrong_type_fails_the_schedule_shape_check(stack: Snapshot) -> None:
    params = create_schedule(stack.named("scanner-schedule")["inputs"])
    params["Target"]["RetryPolicy"]["MaximumRetryAttempts"] = "two"
    assert "MaximumRetryAttempts" in validation_errors("scheduler", "CreateSchedule", params)
