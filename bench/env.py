"""What every scenario runs against: an SQS endpoint, the embedded Postgres, fresh queues.

`BenchEnv` starts LocalStack's SQS on this host (`bench/localstack.py`) unless `--endpoint-url`
names another endpoint or one already answers, and stops it afterwards only if it started it.
Postgres is an `EmbeddedPostgres` in a temporary directory, removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import localstack
from devtools.local.postgres import EmbeddedPostgres
from devtools.local.queues import JobQueues, QueueSettings, create_job_queues
from jobping.aws import make_client
from jobping.migrate import migrate
from jobping.settings import AwsSettings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

REPO = Path(__file__).resolve().parent.parent


LOCALSTACK_PORT = 4566
REGION = "us-east-1"
APP_USER, APP_PASSWORD = "jobping_bench", "bench-only-password"  # a throwaway server's role
#: Fake credentials for the local endpoint; never the caller's.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


@dataclass
class BenchEnv:
    """The SQS endpoint and database of one benchmark run."""

    endpoint_url: str | None = None
    localstack: subprocess.Popen[bytes] | None = None
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="jobping-bench-")))
    postgres: EmbeddedPostgres | None = None
    database_url: str = ""
    sqs: SQSClient | None = None

    def start(self) -> None:
        """Start (or find) the SQS endpoint and start a migrated Postgres."""
        os.environ.update(FAKE_CREDENTIALS)
        os.environ.pop("AWS_PROFILE", None)
        if self.endpoint_url is None:
            self.endpoint_url = f"http://127.0.0.1:{LOCALSTACK_PORT}"
            if not localstack.answers(self.endpoint_url):
                self._start_localstack()
        self.postgres = EmbeddedPostgres(self.workdir / "pg" / "data")
        self.postgres.start()
        self.database_url = self.postgres.ensure_database("jobping", APP_USER, APP_PASSWORD)
        migrate(self.database_url)
        self.sqs = make_client("sqs", self.aws, max_pool_connections=32)

    def _start_localstack(self) -> None:
        cert = self.workdir / "localstack-cert.pem"
        write_self_signed_pem(cert)
        self.localstack = localstack.start(LOCALSTACK_PORT, cert)

    def stop(self) -> None:
        """Stop what `start` started and remove the temporary directory."""
        try:
            if self.postgres is not None:
                self.postgres.stop("immediate")
        finally:
            if self.localstack is not None:
                localstack.stop(self.localstack)
            shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def aws(self) -> AwsSettings:
        """Region and endpoint settings for clients built by the harness."""
        assert self.endpoint_url is not None
        return AwsSettings.for_endpoint(self.endpoint_url, REGION)

    def client(self) -> SQSClient:
        """The harness's own SQS client."""
        assert self.sqs is not None
        return self.sqs

    def new_queues(self) -> JobQueues:
        """A fresh job queue and DLQ, configured as deployed (visibility 300 s, 3 receives)."""
        return create_job_queues(self.client(), f"bench-{uuid.uuid4().hex[:12]}", QueueSettings())

    def delete_queues(self, queues: JobQueues) -> None:
        """Remove a scenario's queues (LocalStack keeps them in memory otherwise)."""
        for url in (queues.url, queues.dlq_url):
            self.client().delete_queue(QueueUrl=url)

    def process_env(self, queues: JobQueues, **extra: str) -> dict[str, str]:
        """Environment for a worker or scanner process on `queues`."""
        assert self.endpoint_url is not None
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("WORKER_", "AWS_", "DATABASE_", "JOB_QUEUE", "SCANNER_"))
        }
        env.update(
            FAKE_CREDENTIALS,
            AWS_REGION=REGION,
            AWS_DEFAULT_REGION=REGION,
            AWS_ENDPOINT_URL=self.endpoint_url,
            JOB_QUEUE_URL=queues.url,
            DATABASE_URL=self.database_url,
            HEALTH_PORT="0",
            LOG_LEVEL="INFO",
            LOG_FORMAT="json",
            PYTHONPATH=str(REPO),
        )
        env.update(extra)
        return env


def write_self_signed_pem(path: Path) -> None:
    """A throwaway key and self-signed certificate for localhost, in one PEM file."""
    from cryptography import x509  # noqa: PLC0415  # only when LocalStack is started here
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(key_pem + cert.public_bytes(serialization.Encoding.PEM))


def send_bodies(sqs: SQSClient, url: str, bodies: list[str], threads: int = 4) -> None:
    """Fill `url` with `bodies`, ten per SendMessageBatch, from a few threads."""
    chunks = [bodies[i : i + 10] for i in range(0, len(bodies), 10)]

    def send(chunk: list[str]) -> None:
        entries: list[Any] = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(chunk)]
        response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        if response.get("Failed"):
            raise RuntimeError(f"SendMessageBatch failed: {response['Failed'][:1]}")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, chunks))


def queue_depth(sqs: SQSClient, url: str) -> int:
    """Messages visible, in flight or delayed on `url` (0 once everything is deleted)."""
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(value) for value in attrs.values())
