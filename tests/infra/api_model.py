"""AWS API requests checked against botocore's service models, beyond what botocore checks.

botocore's validator checks types, required and unknown members and minimums; the services also
enforce each shape's `enum`, `pattern`, `min` and `max`. `validation_errors` applies both, with a
walker over the shape model (structures, lists, maps, strings, numbers, blobs). Queue attributes
are strings in the model: their documented ranges are checked separately.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import regex
from botocore.validate import ParamValidator
from infra_snapshot import Record, Snapshot

SESSION = botocore.session.get_session()
#: Pulumi's auto-naming appends "-" and 7 random hex digits to the logical name.
AUTONAME_SUFFIX = "-0a1b2c3"
#: A UTF-16 surrogate pair in a Java pattern (`\uD800\uDC00`): one supplementary code point.
_SURROGATES = regex.compile(r"\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})", regex.IGNORECASE)


def autoname(record: Record) -> str:
    """The physical name Pulumi gives a resource whose inputs set none."""
    return str(record["inputs"].get("name") or record["name"] + AUTONAME_SUFFIX)


def python_pattern(java: str) -> regex.Pattern[str]:
    """AWS's (Java) pattern for `regex`: Unicode property classes as they are, each UTF-16
    surrogate pair turned into the code point it encodes."""

    def code_point(m: regex.Match[str]) -> str:
        high, low = int(m[1], 16) - 0xD800, int(m[2], 16) - 0xDC00
        return f"\\U{0x10000 + (high << 10) + low:08X}"

    return regex.compile(_SURROGATES.sub(code_point, java))


def constraint_errors(shape: Any, value: Any, path: str) -> list[str]:
    """`enum`, `pattern`, `min` and `max` of `shape` and its members, applied to `value`.

    A pattern must match the whole value (the service's rule; botocore's models leave the
    anchors out). `min`/`max` bound a string's or blob's length, a list's or map's size, and a
    number's value.
    """
    errors: list[str] = []
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                errors += constraint_errors(member, value[name], f"{path}.{name}")
        return errors
    if kind == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            errors += constraint_errors(shape.member, item, f"{path}[{index}]")
    if kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            errors += constraint_errors(shape.key, key, f"{path} key {key!r}")
            errors += constraint_errors(shape.value, item, f"{path}[{key!r}]")
    if kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            errors.append(f"{path}: {value!r} is not one of {shape.enum}")
        if "pattern" in meta and not python_pattern(meta["pattern"]).fullmatch(value):
            errors.append(f"{path}: {value!r} does not match {meta['pattern']!r}")
    size = len(value) if isinstance(value, str | bytes | list | dict) else value
    if isinstance(size, int | float) and not isinstance(size, bool):
        if "min" in meta and size < meta["min"]:
            errors.append(f"{path}: {size} is below the minimum {meta['min']}")
        if "max" in meta and size > meta["max"]:
            errors.append(f"{path}: {size} is above the maximum {meta['max']}")
    return errors


def validation_errors(service: str, operation: str, params: dict[str, Any]) -> str:
    """botocore's report plus the model's constraints for `params` ('' when valid)."""
    shape = SESSION.get_service_model(service).operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    errors = [str(report.generate_report())] if report.has_errors() else []
    errors += constraint_errors(shape, params, operation)
    return "\n".join(errors)


#: pulumi-aws `sqs.Queue` inputs and the queue attribute each sets.
QUEUE_ATTRIBUTES = {
    "visibilityTimeoutSeconds": "VisibilityTimeout",
    "messageRetentionSeconds": "MessageRetentionPeriod",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "delaySeconds": "DelaySeconds",
    "maxMessageSize": "MaximumMessageSize",
    "sqsManagedSseEnabled": "SqsManagedSseEnabled",
    "kmsMasterKeyId": "KmsMasterKeyId",
    "redrivePolicy": "RedrivePolicy",
    "redriveAllowPolicy": "RedriveAllowPolicy",
    "policy": "Policy",
}
#: The attribute ranges the SQS API reference gives (the model types every value as a string):
#: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html
QUEUE_RANGES = {
    "VisibilityTimeout": (0, 43_200),
    "MessageRetentionPeriod": (60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1_024, 1_048_576),
}


def queue_attributes(stack: Snapshot, queue: Record) -> dict[str, str]:
    """Every attribute the program sets on `queue`: its own inputs and the redrive resources."""
    attributes: dict[str, str] = {}
    for field, value in queue["inputs"].items():
        if field in QUEUE_ATTRIBUTES:
            text = str(value).lower() if isinstance(value, bool) else value
            attributes[QUEUE_ATTRIBUTES[field]] = str(
                int(text) if isinstance(text, float) else text
            )
    url = queue["outputs"]["url"]
    for typ, field in (("aws:sqs/redrivePolicy:RedrivePolicy", "redrivePolicy"),
                       ("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", "redriveAllowPolicy"),
                       ("aws:sqs/queuePolicy:QueuePolicy", "policy")):  # fmt: skip
        for record in stack.of_type(typ):
            if record["inputs"]["queueUrl"] == url:
                attributes[QUEUE_ATTRIBUTES[field]] = record["inputs"][field]
    return attributes


def queue_range_errors(attributes: dict[str, str]) -> list[str]:
    errors = []
    for name, (low, high) in QUEUE_RANGES.items():
        if name in attributes and not low <= int(attributes[name]) <= high:
            errors.append(f"{name}={attributes[name]} is outside {low}..{high}")
    if "RedrivePolicy" in attributes:
        count = json.loads(attributes["RedrivePolicy"])["maxReceiveCount"]
        if not 1 <= int(count) <= 1000:
            errors.append(f"RedrivePolicy maxReceiveCount={count} is outside 1..1000")
    return errors
