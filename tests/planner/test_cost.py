"""The cost model: the pinned table, lines driven by the program's resources and task-hours."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
import yaml

from devtools import REPO_ROOT
from devtools.planner.cost import PRICES, line_items, load_prices, reference_design
from devtools.planner.inventory import read_inventory
from devtools.planner.live import LivePriceError, pick_by_usage_type
from devtools.planner.load import Scan, ServiceRate
from devtools.planner.scenario import simulate_stack
from devtools.planner.stackmodel import StackModel


def test_every_pinned_price_names_its_aws_pricing_page_and_the_day_it_was_read() -> None:
    table = json.loads(PRICES.read_text())
    assert table["region"] == "us-east-1"
    for key, entry in table["prices"].items():
        assert entry["url"].startswith("https://aws.amazon.com/"), key
        assert entry["read_on"] == "2026-12-01", key
        assert isinstance(entry["value"], int | float), key


def test_the_reference_design_costs_about_36_dollars_a_month() -> None:
    # Two always-on 0.5 vCPU / 1 GiB x86 tasks for 730 hours.
    assert round(reference_design(load_prices()), 2) == 36.04


def lines(items: list[Any]) -> dict[str, float]:
    return {item.item: item.usd for item in items}


def test_fixed_lines_come_from_the_programs_resources(
    snapshots: dict[str, dict[str, Any]], models: dict[str, StackModel], rate: ServiceRate
) -> None:
    prices = load_prices()
    day = simulate_stack(models["prod"], scans=[Scan(0.0, 0)], rate=rate)
    inventory = read_inventory(snapshots["prod"])
    prod = lines(line_items(models["prod"], inventory, day, prices))
    stack_file = yaml.safe_load((REPO_ROOT / "Pulumi.prod.yaml").read_text())["config"]
    assert inventory.nat_gateways == stack_file["jobping:network"]["natGateways"]
    assert prod["NAT gateway hours"] == pytest.approx(inventory.nat_gateways * 730 * 0.045)
    assert prod["RDS db.t4g.small (Multi-AZ)"] == pytest.approx(730 * 0.064)
    dev_day = simulate_stack(models["dev"], scans=[Scan(0.0, 0)], rate=rate)
    dev = lines(line_items(models["dev"], read_inventory(snapshots["dev"]), dev_day, prices))
    assert dev["NAT gateway hours"] == 0.0
    assert dev["RDS db.t4g.micro (Single-AZ)"] == pytest.approx(730 * 0.016)


def test_worker_lines_follow_the_simulated_task_hours(
    snapshots: dict[str, dict[str, Any]], models: dict[str, StackModel], rate: ServiceRate
) -> None:
    prices = load_prices()
    inventory = read_inventory(snapshots["prod"])
    day = simulate_stack(models["prod"], scans=[Scan(0.0, 0)], rate=rate)
    doubled = replace(day, worker_task_seconds=2 * day.worker_task_seconds)
    one = lines(line_items(models["prod"], inventory, day, prices))
    two = lines(line_items(models["prod"], inventory, doubled, prices))
    vcpu = "Fargate worker vCPU (ARM64, 0% Spot)"
    # One always-on task of 0.5 vCPU for a 730-hour month at the ARM price.
    assert one[vcpu] == pytest.approx(730 * 0.5 * 0.03238)
    assert two[vcpu] == pytest.approx(2 * one[vcpu])


def test_spot_tasks_cost_the_spot_share_less(
    snapshots: dict[str, dict[str, Any]], models: dict[str, StackModel], rate: ServiceRate
) -> None:
    prices = load_prices()
    inventory = read_inventory(snapshots["prod"])
    prod = models["prod"]
    spot = replace(prod, worker=replace(prod.worker, spot_share=1.0))
    on_demand = lines(line_items(prod, inventory, simulate_stack(prod, rate=rate), prices))
    on_spot = lines(line_items(spot, inventory, simulate_stack(spot, rate=rate), prices))
    assert on_spot["Fargate worker vCPU (ARM64, 100% Spot)"] == pytest.approx(
        on_demand["Fargate worker vCPU (ARM64, 0% Spot)"] * 0.30
    )


def test_live_price_parsing_takes_the_on_demand_sku() -> None:
    def product(usage: str, usd: str) -> dict[str, Any]:
        dimension = {"pricePerUnit": {"USD": usd}, "unit": "hours"}
        return {
            "product": {"attributes": {"usagetype": usage}},
            "terms": {"OnDemand": {"SKU.T": {"priceDimensions": {"SKU.T.D": dimension}}}},
        }

    products = [
        product("USE1-SpotUsage-Fargate-ARM-GB-Hours", "0.0010"),
        product("USE1-Fargate-ARM-GB-Hours", "0.0035600000"),
        product("USE1-Fargate-ARM-vCPU-Hours:perCPU", "0.0323800000"),
    ]
    wanted = {"cpu": "Fargate-ARM-vCPU-Hours:perCPU", "gb": "Fargate-ARM-GB-Hours"}
    assert pick_by_usage_type(products, wanted) == {"cpu": 0.03238, "gb": 0.00356}
    with pytest.raises(LivePriceError, match="NatGateway-Hours"):
        pick_by_usage_type(products, {"nat": "NatGateway-Hours"})
