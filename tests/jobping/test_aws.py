"""Client construction: standard retries, region, and the endpoint override honoured."""

from __future__ import annotations

from devtools.local.moto import MotoServer
from jobping.aws import make_client
from jobping.settings import AwsSettings


def test_client_uses_endpoint_override_and_standard_retries(moto_server: MotoServer) -> None:
    aws = AwsSettings.for_endpoint(moto_server.url, "eu-west-1")
    sqs = make_client("sqs", aws)
    assert sqs.meta.endpoint_url == moto_server.url
    assert sqs.meta.region_name == "eu-west-1"
    assert sqs.meta.config.retries is not None
    assert sqs.meta.config.retries["mode"] == "standard"
    url = sqs.create_queue(QueueName="endpoint-check")["QueueUrl"]
    assert url.startswith(moto_server.url)
    assert url in sqs.list_queues(QueueNamePrefix="endpoint-check")["QueueUrls"]


def test_client_without_override_targets_the_regional_endpoint() -> None:
    client = make_client("secretsmanager", AwsSettings(aws_region="eu-central-1"))
    assert client.meta.endpoint_url == "https://secretsmanager.eu-central-1.amazonaws.com"


def test_pool_size_and_timeouts_are_configurable() -> None:
    client = make_client("sqs", AwsSettings(), max_pool_connections=32, read_timeout=25)
    assert client.meta.config.max_pool_connections == 32
    assert client.meta.config.read_timeout == 25
