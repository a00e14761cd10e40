"""The one place that builds boto3 clients.

Clients are built once per process and passed to whoever needs them; nothing creates a client per
message. Retries use botocore's "standard" mode (exponential backoff with jitter, retry quota).
`AWS_ENDPOINT_URL` is honoured by boto3 itself; passing it explicitly as well keeps the override
visible in one place and lets tests point a client at a local server without touching os.environ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient

    from jobping.settings import AwsSettings

Service = Literal["sqs", "secretsmanager", "sesv2", "bedrock-runtime", "cloudwatch", "rds"]


def client_config(
    *, max_pool_connections: int = 10, read_timeout: float = 60, max_attempts: int = 5
) -> Config:
    """botocore Config shared by every client: standard retries, bounded timeouts."""
    return Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=5,
        read_timeout=read_timeout,
        max_pool_connections=max_pool_connections,
    )


@overload
def make_client(service: Literal["sqs"], aws: AwsSettings, **kw: Any) -> SQSClient: ...
@overload
def make_client(
    service: Literal["secretsmanager"], aws: AwsSettings, **kw: Any
) -> SecretsManagerClient: ...
@overload
def make_client(service: Literal["sesv2"], aws: AwsSettings, **kw: Any) -> SESV2Client: ...
@overload
def make_client(
    service: Literal["bedrock-runtime"], aws: AwsSettings, **kw: Any
) -> BedrockRuntimeClient: ...
@overload
def make_client(
    service: Literal["cloudwatch"], aws: AwsSettings, **kw: Any
) -> CloudWatchClient: ...
@overload  # only generate_db_auth_token is used (typed by jobping.dbauth.TokenSigner)
def make_client(service: Literal["rds"], aws: AwsSettings, **kw: Any) -> Any: ...
def make_client(service: Service, aws: AwsSettings, **config: Any) -> Any:
    """Build a client for `service` in the configured region and endpoint.

    Args:
        service: the AWS service name.
        aws: region and optional endpoint override.
        **config: overrides for `client_config` (pool size, read timeout, attempts).
    """
    endpoint = str(aws.aws_endpoint_url).rstrip("/") if aws.aws_endpoint_url else None
    return boto3.session.Session().client(
        service,
        region_name=aws.aws_region,
        endpoint_url=endpoint,
        config=client_config(**config),
    )


class RequestCounter:
    """Counts the HTTP requests a boto3 client sends, retries included (a botocore event hook)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, **_: object) -> None:
        self.count += 1


def count_requests(client: Any) -> RequestCounter:
    """Attach a `RequestCounter` to `client` and return it."""
    counter = RequestCounter()
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-send.{service}", counter)
    return counter
