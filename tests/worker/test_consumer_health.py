"""ECS task protection, with real servers and a fake ECS agent (health: `test_health.py`)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from devtools.local.queues import JobQueues
from tests.worker.conftest import job_body, send_all, wait_for
from worker.protection import PROTECTION_PATH, TaskProtection

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class FakeAgent:
    """An ECS agent that records the task-protection PUTs it gets."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str, dict[str, Any]]] = []
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                calls.append((time.monotonic(), self.path, body))
                reply = json.dumps({"protection": {"ProtectionEnabled": body["ProtectionEnabled"]}})
                self.send_response(200)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply.encode())

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_task_is_protected_while_busy_and_unprotected_when_idle(
    sqs: SQSClient, queues: JobQueues, run_consumer: Callable[..., Any]
) -> None:
    agent = FakeAgent()
    protection = TaskProtection(agent.url, expires_minutes=1, idle_grace=0.5)
    try:
        with run_consumer(queues.url, protection=protection) as consumer:
            time.sleep(0.5)
            assert agent.calls == []  # idle from the start: nothing to protect or drop
            send_all(sqs, queues.url, [job_body("write", title="1.2") for _ in range(3)])
            wait_for(lambda: consumer.outcomes["processed"] == 3, 15, "3 processed")
            done_at = time.monotonic()
            wait_for(lambda: len(agent.calls) >= 2, 5, "protection to be dropped")
            time.sleep(0.5)  # and nothing more
    finally:
        agent.server.shutdown()
    assert [(path, body) for _, path, body in agent.calls] == [
        (PROTECTION_PATH, {"ProtectionEnabled": True, "ExpiresInMinutes": 1}),
        (PROTECTION_PATH, {"ProtectionEnabled": False}),
    ]  # one call each way for three messages: debounced, not per message
    assert agent.calls[0][0] < done_at - 0.8  # protected while the jobs ran
    assert agent.calls[1][0] >= done_at  # dropped only once idle


def test_unreachable_agent_is_logged_never_fatal(caplog: pytest.LogCaptureFixture) -> None:
    protection = TaskProtection("http://127.0.0.1:9", timeout=0.5, retry_after=60)
    protection.update(busy=True, now=0.0)
    protection.update(busy=True, now=1.0)  # within retry_after: no second attempt
    assert not protection.protected
    assert len([r for r in caplog.records if "task protection" in r.message]) == 1
