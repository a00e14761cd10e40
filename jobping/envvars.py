"""Names of the environment variables in ARCHITECTURE.md's contract.

Plain constants and nothing else: the Pulumi components import this module to write the task
definitions, so it must not import anything of the runtime (no boto3, no psycopg).
"""

from __future__ import annotations

from typing import Final

JOB_QUEUE_URL: Final = "JOB_QUEUE_URL"
DATABASE_URL: Final = "DATABASE_URL"
DATABASE_SECRET_ARN: Final = "DATABASE_SECRET_ARN"  # noqa: S105  # a name, not a secret
DATABASE_HOST: Final = "DATABASE_HOST"
DATABASE_PORT: Final = "DATABASE_PORT"
DATABASE_NAME: Final = "DATABASE_NAME"
DATABASE_SSLMODE: Final = "DATABASE_SSLMODE"
#: Owner credentials for `jobping migrate`, injected by ECS from the secret (never `environment`).
DATABASE_USER: Final = "DATABASE_USER"
DATABASE_PASSWORD: Final = "DATABASE_PASSWORD"  # noqa: S105  # a name, not a secret
#: The application's database user when it logs in with IAM authentication tokens (RDS).
DATABASE_IAM_USER: Final = "DATABASE_IAM_USER"
AWS_REGION: Final = "AWS_REGION"
AWS_ENDPOINT_URL: Final = "AWS_ENDPOINT_URL"
WORKER_CONCURRENCY: Final = "WORKER_CONCURRENCY"
WORKER_BATCH_SIZE: Final = "WORKER_BATCH_SIZE"
WORKER_WAIT_SECONDS: Final = "WORKER_WAIT_SECONDS"
WORKER_DRAIN_SECONDS: Final = "WORKER_DRAIN_SECONDS"
WORKER_PREFETCH: Final = "WORKER_PREFETCH"
HEALTH_PORT: Final = "HEALTH_PORT"
SCANNER_SOURCES: Final = "SCANNER_SOURCES"
LOG_LEVEL: Final = "LOG_LEVEL"
LOG_FORMAT: Final = "LOG_FORMAT"
ANALYZER: Final = "ANALYZER"
BEDROCK_MODEL_ID: Final = "BEDROCK_MODEL_ID"
NOTIFIER: Final = "NOTIFIER"
SES_FROM_ADDRESS: Final = "SES_FROM_ADDRESS"
#: Set by ECS in every task (the agent's endpoint); the worker's task protection uses it.
ECS_AGENT_URI: Final = "ECS_AGENT_URI"

#: The least-privilege role the migrations create for the running worker and scanner.
APP_DATABASE_USER: Final = "jobping_runtime"
#: Port the worker's health server listens on when HEALTH_PORT is not set.
DEFAULT_HEALTH_PORT: Final = 8080
#: Path of the worker's health endpoint (the container health check calls it).
HEALTH_PATH: Final = "/health"
