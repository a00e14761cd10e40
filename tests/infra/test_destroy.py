"""`pulumi destroy` of dev succeeds and leaves nothing behind; prod keeps its protections.

What stops a destroy, or survives it (then blocks the next `pulumi up` of the same names):
- the resource options `protect` (the engine refuses to delete) and `retainOnDelete` (the
  resource is left in the account): https://www.pulumi.com/docs/iac/concepts/options/
- RDS `deletionProtection` (DeleteDBInstance is refused), and a final snapshot under a fixed
  name (the second destroy fails: the snapshot of the first exists, DBSnapshotAlreadyExists):
  https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DeleteDBInstance.html
- an ECR repository that still holds images without `forceDelete`
  (RepositoryNotEmptyException): https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DeleteRepository.html
- an S3 bucket with objects without `forceDestroy`; EC2 `disableApiTermination`; load balancer,
  DynamoDB and Aurora deletion protection; a log group with `skipDestroy` (left behind).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from api_model import AUTONAME_SUFFIX
from infra_snapshot import Record, Snapshot, stack_file_config

from components.settings import SettingsError, parse_settings

Check = Callable[[dict[str, Any]], str | None]


def _rds(inputs: dict[str, Any]) -> str | None:
    if inputs.get("deletionProtection"):
        return "deletionProtection"
    if inputs.get("skipFinalSnapshot") is not True:
        # The snapshot outlives the stack, and under a fixed name fails the next destroy.
        return "a final snapshot"
    return None


def _unless(field: str) -> Check:
    return lambda inputs: None if inputs.get(field) is True else f"{field} is not true"


def _if(field: str) -> Check:
    return lambda inputs: field if inputs.get(field) else None


#: Per resource type, the setting that makes a destroy fail or leave the resource behind.
BLOCKERS: dict[str, Check] = {
    "aws:rds/instance:Instance": _rds,
    "aws:rds/cluster:Cluster": _rds,
    "aws:ecr/repository:Repository": _unless("forceDelete"),
    "aws:s3/bucket:Bucket": _unless("forceDestroy"),
    "aws:s3/bucketV2:BucketV2": _unless("forceDestroy"),
    "aws:ec2/instance:Instance": _if("disableApiTermination"),
    "aws:lb/loadBalancer:LoadBalancer": _if("enableDeletionProtection"),
    "aws:alb/loadBalancer:LoadBalancer": _if("enableDeletionProtection"),
    "aws:dynamodb/table:Table": _if("deletionProtectionEnabled"),
    "aws:cloudwatch/logGroup:LogGroup": _if("skipDestroy"),
}


def destroy_blockers(records: list[Record]) -> Iterator[str]:
    """`<name>: <setting>` for everything that would stop or survive `pulumi destroy`."""
    for record in records:
        for option in ("protect", "retainOnDelete"):
            if record.get(option):
                yield f"{record['name']}: the {option} option"
        check = BLOCKERS.get(record["type"])
        problem = check(record["inputs"]) if check else None
        if problem:
            yield f"{record['name']}: {problem}"


def test_dev_carries_no_setting_that_blocks_destroy(dev: Snapshot) -> None:
    assert list(destroy_blockers(dev.records)) == []
    db = dev.named("db-instance")["inputs"]
    # Destroyable twice over: no final snapshot whose name a second destroy would reuse.
    assert db["skipFinalSnapshot"] is True
    assert "finalSnapshotIdentifier" not in db


def test_prod_keeps_its_protections(prod: Snapshot) -> None:
    assert sorted(destroy_blockers(prod.records)) == [
        "db-instance: deletionProtection",
        "image-repo: forceDelete is not true",
    ]
    db = prod.named("db-instance")["inputs"]
    assert db["skipFinalSnapshot"] is False
    assert _rds({**db, "deletionProtection": False}) == "a final snapshot"


def test_prods_final_snapshot_is_named_for_this_creation_of_the_database(prod: Snapshot) -> None:
    """The name carries the auto-name suffix of the parameter group created with the instance."""
    db = prod.named("db-instance")["inputs"]
    params = prod.named("db-params")
    suffix = params["outputs"]["name"].rsplit("-", 1)[-1]
    assert db["finalSnapshotIdentifier"] == f"{db['identifier']}-final-{suffix}"
    assert "name" not in params["inputs"]  # auto-named: a new suffix on every creation
    # With a real auto-name the result is still a valid snapshot identifier (RDS naming rules).
    real = f"{db['identifier']}-final-{AUTONAME_SUFFIX.lstrip('-')}"
    assert re.fullmatch(r"[A-Za-z](?!.*--)[A-Za-z0-9-]{0,253}[A-Za-z0-9]", real)


def test_the_checker_finds_each_kind_of_blocker() -> None:
    """The control: every kind of blocker is reported."""

    def record(typ: str, name: str, **inputs: Any) -> Record:
        return {"type": typ, "name": name, "inputs": inputs, "protect": False}

    records = [
        record("aws:rds/instance:Instance", "db", skipFinalSnapshot=False),
        record("aws:ecr/repository:Repository", "repo", forceDelete=False),
        record("aws:s3/bucketV2:BucketV2", "bucket"),
        record("aws:cloudwatch/logGroup:LogGroup", "logs", skipDestroy=True),
        {**record("aws:sqs/queue:Queue", "queue"), "protect": True},
        {**record("aws:sqs/queue:Queue", "kept"), "retainOnDelete": True},
    ]
    assert len(list(destroy_blockers(records))) == len(records)


@pytest.mark.parametrize(
    ("key", "field", "value"),
    [("image", "forceDelete", True), ("database", "finalSnapshot", False)],
)
def test_production_refuses_to_be_destroyable(key: str, field: str, value: bool) -> None:
    config = stack_file_config("prod")
    config[f"jobping:{key}"] = {**config[f"jobping:{key}"], field: value}
    with pytest.raises(SettingsError) as error:
        parse_settings(lambda k: copy.deepcopy(config.get(f"jobping:{k}")))
    assert error.value.key == f"jobping:{key}.{field}"
