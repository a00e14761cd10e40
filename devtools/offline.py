"""Run the real Pulumi program (`__main__.py`) offline, under mocks, for one stack file.

Usage: `python -m devtools.offline Pulumi.dev.yaml` (from the repository root). Each run is its
own process, so Pulumi's global runtime state never leaks from one stack to the next. The
snapshot (JSON on stdout) lists every registered resource with its type, logical name, parent
URN, inputs, mocked outputs and options, the stack outputs, and every invoke the program made.
The infra tests assert on it, and `devtools plan` prints it as a tree: a preview for people
without credentials. `record` runs any program the same way, e.g. one component with chosen
args (tests/infra/test_components.py). Nothing here talks to AWS or needs the Pulumi CLI.
"""

from __future__ import annotations

import hashlib
import json
import runpy
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks, rpc

from devtools import REPO_ROOT

ACCOUNT = "123456789012"
REGION = "us-east-1"
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]

INVOKES: dict[str, dict[str, Any]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": {
        "accountId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:user/ci",
        "userId": "AIDAMOCK",
        "id": ACCOUNT,
    },
    "aws:index/getRegion:getRegion": {
        "region": REGION,
        "name": REGION,
        "id": REGION,
        "description": "US East (N. Virginia)",
        "endpoint": f"ec2.{REGION}.amazonaws.com",
    },
    "aws:index/getPartition:getPartition": {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "reverseDnsPrefix": "com.amazonaws",
        "id": "aws",
    },
    "aws:ec2/getVpc:getVpc": {"id": "vpc-default", "cidrBlock": "172.31.0.0/16", "default": True},
    "aws:ec2/getSubnets:getSubnets": {
        "id": REGION,
        "ids": ["subnet-default-a", "subnet-default-b", "subnet-default-c"],
    },
    "aws:index/getAvailabilityZones:getAvailabilityZones": {
        "id": REGION,
        "names": ZONES,
        "zoneIds": ["use1-az1", "use1-az2", "use1-az4"],
    },
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": {
        "id": ACCOUNT,
        "userName": "AWS",
        "password": "mock-registry-password",
        "authorizationToken": "QVdTOm1vY2s=",
        "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
        "expiresAt": "2030-01-01T00:00:00Z",
    },
}


def _arn(service: str, resource: str, region: str = REGION) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def component_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """What a multi-language (remote) component would report; its children stay invisible."""
    if typ == "awsx:ec2:Vpc":
        zones = range(int(inputs["numberOfAvailabilityZones"]))
        return {
            "vpcId": f"{name}-vpc-id",
            "privateSubnetIds": [f"{name}-private-{i}-id" for i in zones],
            "publicSubnetIds": [f"{name}-public-{i}-id" for i in zones],
            "isolatedSubnetIds": [],
        }
    return {}


def mock_outputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:  # noqa: PLR0911
    """What the provider would report after creating `typ` (the fields the program reads)."""
    if typ == "aws:sqs/queue:Queue":
        url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
        return {"name": name, "arn": _arn("sqs", name), "url": url}
    if typ == "aws:iam/role:Role":
        return {"name": name, "arn": f"arn:aws:iam::{ACCOUNT}:role/{name}"}
    if typ == "aws:ecs/cluster:Cluster":
        return {"name": name, "arn": _arn("ecs", f"cluster/{name}")}
    if typ == "aws:ecs/service:Service":
        return {"name": name, "arn": _arn("ecs", f"service/cluster/{name}")}
    if typ == "aws:ecs/taskDefinition:TaskDefinition":
        family = _arn("ecs", f"task-definition/{inputs['family']}")
        return {"arn": f"{family}:1", "arnWithoutRevision": family, "revision": 1}
    if typ == "aws:ecr/repository:Repository":
        url = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}"
        return {
            "name": name,
            "arn": _arn("ecr", f"repository/{name}"),
            "repositoryUrl": url,
            "registryId": ACCOUNT,
        }
    if typ == "docker:index/image:Image":
        digest = hashlib.sha256(inputs["imageName"].encode()).hexdigest()
        return {"repoDigest": f"{inputs['imageName'].split(':')[0]}@sha256:{digest}"}
    if typ == "aws:rds/instance:Instance":
        secret = _arn("secretsmanager", "secret:rds!db-mock-AbCdEf")
        return {
            "address": f"{inputs['identifier']}.mock.{REGION}.rds.amazonaws.com",
            "resourceId": "db-MOCKRESOURCEID0123456789",
            "masterUserSecrets": [
                {
                    "secretArn": secret,
                    "secretStatus": "active",
                    "kmsKeyId": "alias/aws/secretsmanager",
                }
            ],
        }
    if typ == "aws:sns/topic:Topic":  # arn:aws:sns:<region>:<account>:<name>, no resource type
        return {"name": name, "arn": _arn("sns", name)}
    if typ == "aws:cloudwatch/logGroup:LogGroup":
        group = inputs.get("name") or name
        return {"name": group, "arn": _arn("logs", f"log-group:{group}")}
    if typ == "aws:appautoscaling/policy:Policy":
        return {"arn": _arn("autoscaling", f"scalingPolicy:mock:resource/ecs/policyName/{name}")}
    service = typ.split(":")[1].split("/", maxsplit=1)[0]
    return {
        "name": inputs.get("name") or name,
        "arn": _arn(service, f"{typ.rsplit(':', maxsplit=1)[-1]}/{name}"),
    }


class StackMocks(pulumi.runtime.Mocks):
    """Answers each invoke from `INVOKES` (anything else fails) and each resource from inputs."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        self.calls.append(args.token)
        if args.token not in INVOKES:
            raise KeyError(f"the program made an invoke the mocks do not answer: {args.token}")
        return dict(INVOKES[args.token]), []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if not args.custom:
            return "", component_outputs(args.typ, args.name, args.inputs)
        outputs = {**args.inputs, **mock_outputs(args.typ, args.name, args.inputs)}
        return f"{args.name}-id", outputs


class RecordingMonitor(mocks.MockMonitor):
    """The mock monitor, also keeping each registration's parent, inputs and options."""

    def __init__(self, stack_mocks: StackMocks) -> None:
        super().__init__(stack_mocks)
        self.records: list[dict[str, Any]] = []

    def RegisterResource(self, request: Any) -> Any:  # the gRPC method's name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            registration = self.resources[response.urn]
            self.records.append(
                {
                    "type": request.type,
                    "name": request.name,
                    "urn": response.urn,
                    "parent": request.parent,
                    "custom": request.custom,
                    "remote": request.remote,
                    "inputs": rpc.deserialize_properties(request.object),
                    "outputs": registration.state,
                    "id": registration.id,
                    "ignoreChanges": list(request.ignoreChanges),
                    "dependencies": list(request.dependencies),
                    "protect": bool(request.protect),
                    "retainOnDelete": bool(request.retainOnDelete),
                }
            )
        return response


def stack_config(stack_file: Path) -> dict[str, str]:
    """The stack file's `config:` map as the engine passes it (structured values as JSON)."""
    config = yaml.safe_load(stack_file.read_text())["config"]
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def record(program: Callable[[], Mapping[str, Any]], stack: str = "test") -> dict[str, Any]:
    """Run `program` under the mocks; return what it registered and the outputs it returns.

    `program` declares resources (the whole stack, or one component with chosen args, as the
    component tests do) and returns the outputs to resolve, by name.
    """
    stack_mocks = StackMocks()
    monitor = RecordingMonitor(stack_mocks)
    pulumi.runtime.set_mocks(
        stack_mocks, project="jobping", stack=stack, preview=False, monitor=monitor
    )
    outputs: dict[str, Any] = {}

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def run_program() -> pulumi.Output[Any]:
        return pulumi.Output.all(**program()).apply(outputs.update)

    run_program()
    return {
        "stack": stack,
        "resources": monitor.records,
        "outputs": outputs,
        "calls": sorted(set(stack_mocks.calls)),
    }


def run(stack_file: Path) -> dict[str, Any]:
    """Run `__main__.py` for `stack_file` under mocks; return the snapshot."""
    pulumi.runtime.set_all_config(stack_config(stack_file))

    def program() -> Mapping[str, Any]:
        sys.path.insert(0, str(REPO_ROOT))
        runpy.run_path(str(REPO_ROOT / "__main__.py"), run_name="__main__")
        exported: Mapping[str, Any] = pulumi.runtime.get_root_resource().outputs  # type: ignore[union-attr]
        return exported

    return record(program, stack=stack_file.name.split(".")[1])


if __name__ == "__main__":
    json.dump(run(REPO_ROOT / sys.argv[1]), sys.stdout, default=str)
