"""Drain the outbox into SQS with SendMessageBatch, marking only what SQS accepted.

Every job with `enqueued_at IS NULL` is sent, not only this run's, so a crash between the upsert
and the enqueue loses nothing: the next run sends those jobs. Rows are locked with
`FOR UPDATE SKIP LOCKED` while their batch is in flight, so two scanners never send one job
twice. Entries SQS reports as `Failed` are retried a few times; those still failing stay in the
outbox for the next run.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobping.messages import PROCESS_JOB, JobMessage, JobSummary, encode
from scanner.store import OutboxJob, claimed_outbox, mark_enqueued

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef
    from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

SQS_BATCH = 10
# SendMessageBatch's total payload limit (the sum of the bodies), as for one message.
MAX_BATCH_BYTES = 262_144


@dataclass
class OutboxResult:
    """What one drain did."""

    enqueued: int = 0
    failed: int = 0
    batches: int = 0


def message_for(job: OutboxJob) -> str:
    """The queue message of a stored job (small: the description stays in the database)."""
    summary = JobSummary(
        source=job.source[:200],
        external_id=job.external_id[:200],
        title=job.title[:500],
        company=job.company[:500],
        location=job.location[:500],
        url=job.url[:2048],
    )
    return encode(JobMessage(job_id=job.id, action=PROCESS_JOB, data=summary))


class Outbox:
    """Sends outbox rows to the job queue."""

    def __init__(
        self, sqs: SQSClient, queue_url: str, *, chunk: int = 500, attempts: int = 3
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._chunk = chunk
        self._attempts = attempts

    def drain(self, pool: ConnectionPool, *, limit: int | None = None) -> OutboxResult:
        """Send every unsent job (up to `limit`), one locked chunk per transaction.

        Jobs whose entries still fail after the retries are not claimed again in this drain.
        """
        result = OutboxResult()
        given_up: list[uuid.UUID] = []
        with pool.connection() as conn:
            while limit is None or result.enqueued + result.failed < limit:
                room = self._chunk if limit is None else limit - result.enqueued - result.failed
                with claimed_outbox(conn, min(self._chunk, room), exclude=given_up) as jobs:
                    if not jobs:
                        break
                    sent = set(self._send_all(jobs, result))
                    mark_enqueued(conn, list(sent))
                given_up += [job.id for job in jobs if job.id not in sent]
        return result

    def _send_all(self, jobs: list[OutboxJob], result: OutboxResult) -> list[uuid.UUID]:
        bodies = _bodies(jobs)
        result.failed += len(jobs) - len(bodies)
        accepted: list[uuid.UUID] = []
        pending = list(bodies)
        for attempt in range(1, self._attempts + 1):
            failed: list[str] = []
            for batch in _batches(pending, bodies):
                entries: list[SendMessageBatchRequestEntryTypeDef] = [
                    {"Id": key, "MessageBody": bodies[key][1]} for key in batch
                ]
                response = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
                result.batches += 1
                accepted += [bodies[entry["Id"]][0] for entry in response.get("Successful", [])]
                for entry in response.get("Failed", []):
                    failed.append(entry["Id"])
                    log.warning(
                        "SQS rejected a message",
                        extra={
                            "job_id": str(bodies[entry["Id"]][0]),
                            "code": entry.get("Code"),
                            "sender_fault": entry.get("SenderFault"),
                            "attempt": attempt,
                        },
                    )
            pending = failed
            if not pending:
                break
        result.enqueued += len(accepted)
        result.failed += len(pending)
        return accepted


def _bodies(jobs: list[OutboxJob]) -> dict[str, tuple[uuid.UUID, str]]:
    """Each job's message, by batch entry id.

    A job whose message cannot be built is logged and left out (it stays in the outbox), so one
    bad row never stops the drain of the others.
    """
    bodies: dict[str, tuple[uuid.UUID, str]] = {}
    for index, job in enumerate(jobs):
        try:
            bodies[str(index)] = (job.id, message_for(job))
        except ValueError as error:  # InvalidMessage, a pydantic ValidationError
            log.error(
                "job has no valid message", extra={"job_id": str(job.id), "reason": str(error)}
            )
    return bodies


def _batches(keys: list[str], bodies: dict[str, tuple[Any, str]]) -> list[list[str]]:
    """Groups of at most 10 entries whose bodies total at most the batch payload limit."""
    groups: list[list[str]] = []
    current: list[str] = []
    size = 0
    for key in keys:
        body_size = len(bodies[key][1].encode())
        if current and (len(current) == SQS_BATCH or size + body_size > MAX_BATCH_BYTES):
            groups.append(current)
            current, size = [], 0
        current.append(key)
        size += body_size
    if current:
        groups.append(current)
    return groups
