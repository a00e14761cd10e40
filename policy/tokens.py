"""Pulumi type tokens of the resources the rules look at."""

from __future__ import annotations

from typing import Final

QUEUE: Final = "aws:sqs/queue:Queue"
QUEUE_POLICY: Final = "aws:sqs/queuePolicy:QueuePolicy"
REDRIVE: Final = "aws:sqs/redrivePolicy:RedrivePolicy"
REDRIVE_ALLOW: Final = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy"
ALARM: Final = "aws:cloudwatch/metricAlarm:MetricAlarm"
EVENT_RULE: Final = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET: Final = "aws:cloudwatch/eventTarget:EventTarget"
LOG_GROUP: Final = "aws:cloudwatch/logGroup:LogGroup"
REPOSITORY: Final = "aws:ecr/repository:Repository"
LIFECYCLE: Final = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
CLUSTER: Final = "aws:ecs/cluster:Cluster"
SERVICE: Final = "aws:ecs/service:Service"
TASK_DEFINITION: Final = "aws:ecs/taskDefinition:TaskDefinition"
SCHEDULE: Final = "aws:scheduler/schedule:Schedule"
ROLE: Final = "aws:iam/role:Role"
ROLE_POLICY: Final = "aws:iam/rolePolicy:RolePolicy"
SECURITY_GROUP: Final = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP: Final = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_RULE: Final = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE: Final = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
VPC: Final = "aws:ec2/vpc:Vpc"
#: pulumi-awsx's VPC component (a remote component: its children exist only at a real preview).
AWSX_VPC: Final = "awsx:ec2:Vpc"
SUBNET: Final = "aws:ec2/subnet:Subnet"
DB_INSTANCE: Final = "aws:rds/instance:Instance"
DB_SUBNET_GROUP: Final = "aws:rds/subnetGroup:SubnetGroup"
DB_PARAMETER_GROUP: Final = "aws:rds/parameterGroup:ParameterGroup"
