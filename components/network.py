"""`Network`: where the tasks and the database run, and the tasks' security group.

`defaultVpc` (dev only) uses the account's default VPC: its subnets are public and have no NAT,
so tasks need a public IP to reach ECR, SQS and the job boards. `managed` creates a VPC with
public subnets holding the NAT gateways and private subnets for the tasks and the database.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.settings import NetworkSettings

#: Tag that says whether a subnet (or a DB subnet group) is private; read by the policy rules.
TIER_TAG = "jobping:tier"


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    """Inputs of `Network`."""

    settings: NetworkSettings
    """VPC mode, CIDR block, zone count and NAT gateways."""


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
            self.vpc_id, self.subnet_ids = self._managed_vpc(name, s)
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
        self, name: str, s: NetworkSettings
    ) -> tuple[pulumi.Output[str], pulumi.Output[list[str]]]:
        child = pulumi.ResourceOptions(parent=self)
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=s.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            opts=child,
        )
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)
        public_table = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id, opts=child)
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_table.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )
        zones = aws.get_availability_zones_output(
            state="available", opts=pulumi.InvokeOutputOptions(parent=self)
        ).names
        blocks = subnet_blocks(s.cidr, s.az_count)
        nats: list[aws.ec2.NatGateway] = []
        private_ids: list[pulumi.Output[str]] = []
        for i, (public_cidr, private_cidr) in enumerate(blocks):
            zone = zones.apply(_nth(i))
            public = self._subnet(f"{name}-public-{i}", vpc.id, public_cidr, zone, "public")
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}-rta",
                subnet_id=public.id,
                route_table_id=public_table.id,
                opts=child,
            )
            if i < s.nat_gateways:
                nats.append(self._nat(f"{name}-nat-{i}", public))
            private = self._subnet(f"{name}-private-{i}", vpc.id, private_cidr, zone, "private")
            self._private_route(f"{name}-private-{i}", vpc.id, private, nats[min(i, len(nats) - 1)])
            private_ids.append(private.id)
        return vpc.id, pulumi.Output.all(*private_ids)

    def _subnet(
        self, name: str, vpc_id: pulumi.Input[str], cidr: str, zone: pulumi.Input[str], tier: str
    ) -> aws.ec2.Subnet:
        return aws.ec2.Subnet(
            name,
            vpc_id=vpc_id,
            cidr_block=cidr,
            availability_zone=zone,
            map_public_ip_on_launch=False,
            tags={TIER_TAG: tier},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _nat(self, name: str, public: aws.ec2.Subnet) -> aws.ec2.NatGateway:
        child = pulumi.ResourceOptions(parent=self)
        eip = aws.ec2.Eip(f"{name}-eip", domain="vpc", opts=child)
        return aws.ec2.NatGateway(name, subnet_id=public.id, allocation_id=eip.id, opts=child)

    def _private_route(
        self, name: str, vpc_id: pulumi.Input[str], subnet: aws.ec2.Subnet, nat: aws.ec2.NatGateway
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        table = aws.ec2.RouteTable(f"{name}-rt", vpc_id=vpc_id, opts=child)
        aws.ec2.Route(
            f"{name}-default",
            route_table_id=table.id,
            destination_cidr_block="0.0.0.0/0",
            nat_gateway_id=nat.id,
            opts=child,
        )
        aws.ec2.RouteTableAssociation(
            f"{name}-rta", subnet_id=subnet.id, route_table_id=table.id, opts=child
        )


def default_subnet_filters(vpc_id: str) -> list[aws.ec2.GetSubnetsFilterArgs]:
    """The default VPC's default subnets (one per zone)."""
    return [
        aws.ec2.GetSubnetsFilterArgs(name="vpc-id", values=[vpc_id]),
        aws.ec2.GetSubnetsFilterArgs(name="default-for-az", values=["true"]),
    ]


def _nth(index: int) -> Callable[[list[str]], str]:
    def pick(names: list[str]) -> str:
        return names[index]

    return pick


def subnet_blocks(cidr: str, az_count: int) -> list[tuple[str, str]]:
    """(public /24, private /20) per zone: private /20s from the bottom, public /24s at the top."""
    network = ipaddress.ip_network(cidr)
    privates = list(network.subnets(new_prefix=20))[:az_count]
    publics = list(network.subnets(new_prefix=24))[-az_count:]
    return [(str(pub), str(priv)) for pub, priv in zip(publics, privates, strict=True)]
