"""Where the stack is deployed: account, region and partition, read once by `build_stack`."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True, kw_only=True)
class AwsContext:
    """The caller's account, region and partition (as outputs of the provider's invokes)."""

    account_id: pulumi.Output[str]
    """The 12-digit account the stack deploys into."""
    region: pulumi.Output[str]
    """The provider's region, e.g. `us-east-1`."""
    partition: pulumi.Output[str]
    """`aws`, `aws-cn` or `aws-us-gov`."""

    @staticmethod
    def current() -> AwsContext:
        """Ask the provider (getCallerIdentity, getRegion, getPartition)."""
        return AwsContext(
            account_id=aws.get_caller_identity_output().account_id,
            region=aws.get_region_output().region,
            partition=aws.get_partition_output().partition,
        )
