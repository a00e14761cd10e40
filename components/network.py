"""`Network`: where the tasks and the database run, and the tasks' security group.

`defaultVpc` (dev only) uses the account's default VPC: its subnets are public and have no NAT,
so tasks need a public IP to reach ECR, SQS and the job boards. `managed` creates the VPC with
pulumi-awsx (`awsx.ec2.Vpc`): public subnets holding the NAT gateways, private subnets for the
tasks and the database, and an S3 gateway endpoint. Security groups stay plain pulumi-aws, so
the tests and the policy rules see every input; under mocks the awsx VPC is one component whose
children only a real `pulumi preview` shows.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx

from components.settings import NetworkStackSettings, SettingsError

#: Tag that says whether a subnet (or a DB subnet group) is private; read by the policy rules.
TIER_TAG = "jobping:tier"


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    """Inputs of `Network`."""

    settings: NetworkStackSettings
    """VPC mode, CIDR block, zone count and NAT gateways."""
    region: str | None = None
    """The stack's region (`aws:region`); the managed VPC's S3 endpoint is named after it."""


class Network(pulumi.ComponentResource):
    """A VPC (default or managed), the subnets to use and the task security group."""

    vpc_id: pulumi.Output[str]
    subnet_ids: pulumi.Output[list[str]]
    """Subnets for tasks and the database (private when managed)."""
    private: bool
    """Whether `subnet_ids` are private (no route to an internet gateway)."""
    task_security_group: aws.ec2.SecurityGroup
    """Worker and scanner tasks: no ingress, HTTPS egress (the DB port is added by `Database`)."""

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jobping:index:Network", name, None, opts)
        s = args.settings
        self.private = s.mode == "managed"
        if self.private:
            self.vpc_id, self.subnet_ids = self._managed_vpc(name, s, args.region)
        else:
            vpc = aws.ec2.get_vpc_output(default=True, opts=pulumi.InvokeOutputOptions(parent=self))
            self.vpc_id = vpc.id
            self.subnet_ids = aws.ec2.get_subnets_output(
                filters=vpc.id.apply(default_subnet_filters),
                opts=pulumi.InvokeOutputOptions(parent=self),
            ).ids
        self.task_security_group = self._task_security_group(name)
        self.register_outputs({"vpc_id": self.vpc_id, "subnet_ids": self.subnet_ids})

    def _task_security_group(self, name: str) -> aws.ec2.SecurityGroup:
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(
            f"{name}-tasks-sg",
            description="JobPing worker and scanner tasks: no ingress",
            vpc_id=self.vpc_id,
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-tasks-https-out",
            security_group_id=group.id,
            description="HTTPS to AWS APIs (SQS, ECR, Secrets Manager, logs) and job boards",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            opts=child,
        )
        return group

    def _managed_vpc(
        self, name: str, s: NetworkStackSettings, region: str | None
    ) -> tuple[pulumi.Output[str], pulumi.Output[list[str]]]:
        if not region:
            raise SettingsError(
                "aws:region", "the managed VPC needs the region set in the stack file"
            )
        child = pulumi.ResourceOptions(parent=self)
        vpc = awsx.ec2.Vpc(f"{name}-vpc", managed_vpc_args(s, region), opts=child)
        # awsx leaves the default security group as AWS made it (all egress, self ingress): EC2.2.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.vpc_id, opts=child)
        return vpc.vpc_id, vpc.private_subnet_ids.apply(list)


def managed_vpc_args(s: NetworkStackSettings, region: str) -> awsx.ec2.VpcArgs:
    """The awsx VPC: our subnet plan, the NAT strategy, and an S3 gateway endpoint.

    ECR stores image layers in S3, so without the gateway endpoint every layer a task pulls in
    a private subnet is billed as NAT data processing; the gateway endpoint itself is free
    (https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html). With
    `vpcEndpointStrategy: Auto`, awsx puts a Gateway endpoint on every route table it creates.
    """
    blocks = subnet_blocks(s.cidr, s.az_count)
    tier = awsx.ec2.SubnetType
    nat = (
        awsx.ec2.NatGatewayStrategy.SINGLE
        if s.nat_gateways == 1
        else awsx.ec2.NatGatewayStrategy.ONE_PER_AZ
    )
    return awsx.ec2.VpcArgs(
        cidr_block=s.cidr,
        number_of_availability_zones=s.az_count,
        enable_dns_support=True,
        enable_dns_hostnames=True,
        subnet_strategy=awsx.ec2.SubnetAllocationStrategy.AUTO,
        subnet_specs=[
            awsx.ec2.SubnetSpecArgs(
                type=tier.PRIVATE,
                name="private",
                cidr_blocks=[private for _, private in blocks],
                tags={TIER_TAG: "private"},
            ),
            awsx.ec2.SubnetSpecArgs(
                type=tier.PUBLIC,
                name="public",
                cidr_blocks=[public for public, _ in blocks],
                tags={TIER_TAG: "public"},
            ),
        ],
        nat_gateways=awsx.ec2.NatGatewayConfigurationArgs(strategy=nat),
        vpc_endpoint_strategy=awsx.ec2.VpcEndpointStrategy.AUTO,
        vpc_endpoint_specs=[
            awsx.ec2.VpcEndpointSpecArgs(
                service_name=f"com.amazonaws.{region}.s3", vpc_endpoint_type="Gateway"
            )
        ],
    )


def default_subnet_filters(vpc_id: str) -> list[aws.ec2.GetSubnetsFilterArgs]:
    """The default VPC's default subnets (one per zone)."""
    return [
        aws.ec2.GetSubnetsFilterArgs(name="vpc-id", values=[vpc_id]),
        aws.ec2.GetSubnetsFilterArgs(name="default-for-az", values=["true"]),
    ]


def subnet_blocks(cidr: str, az_count: int) -> list[tuple[str, str]]:
    """(public /24, private /20) per zone: private /20s from the bottom, public /24s at the top."""
    network = ipaddress.ip_network(cidr)
    privates = list(network.subnets(new_prefix=20))[:az_count]
    publics = list(network.subnets(new_prefix=24))[-az_count:]
    return [(str(pub), str(priv)) for pub, priv in zip(publics, privates, strict=True)]
