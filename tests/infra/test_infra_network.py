"""The network: dev's default VPC, prod's pulumi-awsx VPC (its inputs; mocks cannot see inside)."""

from __future__ import annotations

from pathlib import Path

import pytest
from infra_snapshot import Snapshot, refusal, stack_file_config, write_stack_file

from components.network import managed_vpc_args, subnet_blocks
from components.settings import NetworkStackSettings, SettingsError, parse_settings

AWSX_VPC = "awsx:ec2:Vpc"


def test_dev_uses_the_default_vpc_and_prod_one_awsx_vpc(dev: Snapshot, prod: Snapshot) -> None:
    assert not dev.of_type(AWSX_VPC)
    assert "aws:ec2/getVpc:getVpc" in dev.calls
    (vpc,) = prod.of_type(AWSX_VPC)
    assert vpc["remote"] is True  # one multi-language component: its children run in awsx
    assert prod.parent_of(vpc)["type"] == "jobping:index:Network"  # type: ignore[index]
    net = prod.setting("network")
    inputs = vpc["inputs"]
    assert inputs["cidrBlock"] == net["cidr"]
    assert inputs["numberOfAvailabilityZones"] == net["azCount"]
    assert (inputs["enableDnsSupport"], inputs["enableDnsHostnames"]) == (True, True)


def test_awsx_vpc_keeps_the_subnet_plan_with_tier_tags(prod: Snapshot) -> None:
    net = prod.setting("network")
    specs = {s["type"]: s for s in prod.named("network-vpc")["inputs"]["subnetSpecs"]}
    blocks = subnet_blocks(net["cidr"], net["azCount"])
    assert specs["Private"]["cidrBlocks"] == [private for _, private in blocks]
    assert specs["Public"]["cidrBlocks"] == [public for public, _ in blocks]
    assert specs["Private"]["tags"] == {"jobping:tier": "private"}
    assert specs["Public"]["tags"] == {"jobping:tier": "public"}
    assert set(specs) == {"Private", "Public"}


def test_prod_has_one_nat_gateway_per_zone(prod: Snapshot) -> None:
    net = prod.setting("network")
    assert net["natGateways"] == net["azCount"]
    assert prod.named("network-vpc")["inputs"]["natGateways"] == {"strategy": "OnePerAz"}


@pytest.mark.parametrize(("nat_gateways", "strategy"), [(1, "Single"), (3, "OnePerAz")])
def test_nat_strategy_follows_nat_gateways(nat_gateways: int, strategy: str) -> None:
    settings = NetworkStackSettings(az_count=3, nat_gateways=nat_gateways)
    args = managed_vpc_args(settings, "eu-west-1")
    assert args.nat_gateways is not None
    assert args.nat_gateways.strategy == strategy


def test_nat_gateways_between_one_and_every_zone_is_refused() -> None:
    config = stack_file_config("prod")
    config["jobping:network"].update(azCount=3, natGateways=2)
    with pytest.raises(SettingsError, match=r"jobping:network\.natGateways: must be 1 or azCount"):
        parse_settings(lambda key: config.get(f"jobping:{key}"))


def test_image_layers_from_s3_skip_the_nat_through_a_gateway_endpoint(prod: Snapshot) -> None:
    inputs = prod.named("network-vpc")["inputs"]
    # Auto: awsx routes the endpoint from every route table it creates (private ones included).
    assert inputs["vpcEndpointStrategy"] == "Auto"
    assert inputs["vpcEndpointSpecs"] == [
        {"serviceName": "com.amazonaws.us-east-1.s3", "vpcEndpointType": "Gateway"}
    ]


def test_tasks_and_database_run_in_the_awsx_private_subnets(prod: Snapshot) -> None:
    outputs = prod.named("network-vpc")["outputs"]
    private = outputs["privateSubnetIds"]
    assert len(private) == prod.setting("network")["azCount"]
    assert prod.named("worker-service")["inputs"]["networkConfiguration"]["subnets"] == private
    schedule = prod.named("scanner-schedule")["inputs"]["target"]["ecsParameters"]
    assert schedule["networkConfiguration"]["subnets"] == private
    assert prod.named("db-subnets")["inputs"]["subnetIds"] == private
    for group in ("network-tasks-sg", "db-sg", "network-default-sg"):
        assert prod.named(group)["inputs"]["vpcId"] == outputs["vpcId"]


def test_managed_vpc_closes_its_default_security_group(prod: Snapshot) -> None:
    (default_sg,) = prod.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not default_sg["inputs"].get("ingress")
    assert not default_sg["inputs"].get("egress")


def test_managed_vpc_without_a_region_stops_with_the_key_name(tmp_path: Path) -> None:
    config = stack_file_config("prod")
    del config["aws:region"]
    stderr = refusal(write_stack_file(tmp_path, "x", config))
    assert "aws:region: the managed VPC needs the region" in stderr
