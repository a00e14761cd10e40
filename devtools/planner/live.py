"""`devtools cost --live-prices`: the largest prices from the AWS Price List API.

Fargate (vCPU and memory per architecture), NAT gateway (hour and GB) and each RDS instance
class's hourly price are read with `pricing:GetProducts` in us-east-1
(https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html);
the rest of the table stays pinned. Without credentials this fails at once, before any call.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from devtools.planner.cost import Prices
from devtools.planner.inventory import Inventory

LOCATION = "US East (N. Virginia)"
# Usage-type suffixes of the on-demand SKUs, per key of the price table.
FARGATE = {
    "fargate_vcpu_hour_x86_64": "Fargate-vCPU-Hours:perCPU",
    "fargate_gb_hour_x86_64": "Fargate-GB-Hours",
    "fargate_vcpu_hour_arm64": "Fargate-ARM-vCPU-Hours:perCPU",
    "fargate_gb_hour_arm64": "Fargate-ARM-GB-Hours",
}
NAT = {"nat_gateway_hour": "NatGateway-Hours", "nat_gateway_gb": "NatGateway-Bytes"}


class LivePriceError(RuntimeError):
    """No credentials, or the Price List API did not answer."""


def live_prices(pinned: Prices, inventory: Inventory) -> Prices:
    """`pinned` with Fargate, NAT gateway and RDS instance prices read from the API."""
    import boto3  # noqa: PLC0415  # only this option talks to AWS
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    session = boto3.session.Session()
    if session.get_credentials() is None:
        raise LivePriceError("--live-prices needs AWS credentials and none were found")
    client = session.client("pricing", region_name="us-east-1")
    values = dict(pinned.values)
    try:
        values |= _by_usage_type(client, "AmazonECS", FARGATE)
        values |= _by_usage_type(client, "AmazonEC2", NAT, productFamily="NAT Gateway")
        for db in inventory.databases:
            for multi_az, label in ((False, "Single-AZ"), (True, "Multi-AZ")):
                key = (
                    f"rds_postgres_{db.instance_class}_{'multi' if multi_az else 'single'}_az_hour"
                )
                values[key] = _single(
                    client,
                    "AmazonRDS",
                    instanceType=db.instance_class,
                    databaseEngine="PostgreSQL",
                    deploymentOption=label,
                )
    except (BotoCoreError, ClientError) as error:
        raise LivePriceError(f"the AWS Price List API failed: {error}") from error
    return Prices(values, pinned.assumptions, "AWS Price List API (Fargate, NAT, RDS) and pinned")


def _products(client: Any, service: str, **attributes: str) -> Iterator[dict[str, Any]]:
    filters = [{"Type": "TERM_MATCH", "Field": "location", "Value": LOCATION}]
    filters += [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in attributes.items()]
    for page in client.get_paginator("get_products").paginate(ServiceCode=service, Filters=filters):
        for item in page["PriceList"]:
            yield json.loads(item)


def on_demand_usd(product: dict[str, Any]) -> float | None:
    """The on-demand USD price of one Price List product (its first non-zero dimension)."""
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = float(dimension.get("pricePerUnit", {}).get("USD", 0))
            if usd > 0:
                return usd
    return None


def pick_by_usage_type(
    products: list[dict[str, Any]], suffixes: dict[str, str]
) -> dict[str, float]:
    """Prices keyed like `suffixes`, from products whose usage type ends with each suffix."""
    found: dict[str, float] = {}
    for key, suffix in suffixes.items():
        for product in products:
            usage = product.get("product", {}).get("attributes", {}).get("usagetype", "")
            price = on_demand_usd(product)
            # "Spot" usage types share the suffix; the on-demand SKU has none.
            if usage.endswith(suffix) and "Spot" not in usage and price is not None:
                found[key] = price
                break
        else:
            raise LivePriceError(f"the Price List API has no price for {suffix}")
    return found


def _by_usage_type(
    client: Any, service: str, suffixes: dict[str, str], **attributes: str
) -> dict[str, float]:
    return pick_by_usage_type(list(_products(client, service, **attributes)), suffixes)


def _single(client: Any, service: str, **attributes: str) -> float:
    for product in _products(client, service, **attributes):
        price = on_demand_usd(product)
        if price is not None:
            return price
    raise LivePriceError(f"the Price List API has no {service} price for {attributes}")
