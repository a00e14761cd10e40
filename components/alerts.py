"""`AlarmTopic`: the SNS topic every alarm notifies, and helpers to declare alarms and rules."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.context import AwsContext


@dataclass(frozen=True, kw_only=True)
class AlarmTopicArgs:
    """Inputs of `AlarmTopic`."""

    context: AwsContext
    """Account and region (the topic policy admits only this account's alarms and rules)."""
    email: str | None = None
    """Address subscribed to the topic; it must confirm the subscription once."""


class AlarmTopic(pulumi.ComponentResource):
    """An SNS topic for CloudWatch alarms and EventBridge rules of this account."""

    topic: aws.sns.Topic
    """The topic; its ARN goes into every alarm's `alarm_actions`."""

    def __init__(
        self, name: str, args: AlarmTopicArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jobping:index:AlarmTopic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(f"{name}-topic", opts=child)
        aws.sns.TopicPolicy(
            f"{name}-policy",
            arn=self.topic.arn,
            policy=pulumi.Output.all(topic=self.topic.arn, account=args.context.account_id).apply(
                lambda v: _publish_policy(v["topic"], v["account"])
            ),
            opts=child,
        )
        if args.email:
            aws.sns.TopicSubscription(
                f"{name}-email",
                topic=self.topic.arn,
                protocol="email",
                endpoint=args.email,
                opts=child,
            )
        self.register_outputs({"topic_arn": self.topic.arn})


def _publish_policy(topic_arn: str, account_id: str) -> str:
    """CloudWatch alarms and EventBridge rules of this account may publish.

    Same-account people and roles keep their access through their own IAM policies.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AlarmsAndRulesPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                },
            ],
        },
        sort_keys=True,
    )


def metric_alarm(
    name: str,
    *,
    description: str,
    topic_arn: pulumi.Input[str],
    namespace: str,
    metric_name: str,
    dimensions: pulumi.Input[Mapping[str, pulumi.Input[str]]],
    threshold: float,
    comparison: str = "GreaterThanThreshold",
    statistic: str = "Maximum",
    period: int = 60,
    evaluation_periods: int = 1,
    parent: pulumi.Resource,
) -> aws.cloudwatch.MetricAlarm:
    """A single-metric alarm that notifies `topic_arn` when it fires and when it clears."""
    return aws.cloudwatch.MetricAlarm(
        name,
        alarm_description=description,
        namespace=namespace,
        metric_name=metric_name,
        dimensions=dimensions,
        statistic=statistic,
        period=period,
        evaluation_periods=evaluation_periods,
        threshold=threshold,
        comparison_operator=comparison,
        treat_missing_data="notBreaching",
        actions_enabled=True,
        alarm_actions=[topic_arn],
        ok_actions=[topic_arn],
        opts=pulumi.ResourceOptions(parent=parent),
    )


def event_rule_alarm(
    name: str,
    *,
    rule_description: str,
    alarm_description: str,
    pattern: pulumi.Input[str],
    topic_arn: pulumi.Input[str],
    parent: pulumi.Resource,
) -> aws.cloudwatch.EventRule:
    """An EventBridge rule that notifies `topic_arn`, and an alarm on the events it matched."""
    child = pulumi.ResourceOptions(parent=parent)
    rule = aws.cloudwatch.EventRule(
        f"{name}-rule", description=rule_description, event_pattern=pattern, opts=child
    )
    aws.cloudwatch.EventTarget(f"{name}-notify", rule=rule.name, arn=topic_arn, opts=child)
    metric_alarm(
        name,
        description=alarm_description,
        topic_arn=topic_arn,
        namespace="AWS/Events",
        metric_name="MatchedEvents",
        dimensions={"RuleName": rule.name},
        threshold=0,
        statistic="Sum",
        period=300,
        parent=parent,
    )
    return rule


def _stopped_task_pattern(cluster_arn: str, family: str, **detail: object) -> str:
    """ECS task state-change events of one task family on one cluster, once it has STOPPED."""
    return json.dumps(
        {
            "source": ["aws.ecs"],
            "detail-type": ["ECS Task State Change"],
            "detail": {
                "clusterArn": [cluster_arn],
                "group": [f"family:{family}"],
                "lastStatus": ["STOPPED"],
                **detail,
            },
        },
        sort_keys=True,
    )


def failed_task_pattern(cluster_arn: str, family: str) -> str:
    """Tasks that ran and stopped with a container exit code other than 0."""
    non_zero = {"exitCode": [{"anything-but": 0}]}
    return _stopped_task_pattern(cluster_arn, family, containers=non_zero)


def start_failed_pattern(cluster_arn: str, family: str) -> str:
    """Tasks that stopped before they ran: `stopCode` TaskFailedToStart, and no exit code.

    Image pull or secret retrieval failures, no Fargate capacity, ENI provisioning errors
    (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html, `stopCode`).
    """
    return _stopped_task_pattern(cluster_arn, family, stopCode=["TaskFailedToStart"])
