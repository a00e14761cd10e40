"""ECS task scale-in protection: a busy worker asks ECS not to stop it.

When the service scales in, ECS stops tasks; one in the middle of a job would have it delivered
again after the visibility timeout. So while the worker holds messages it sets protection through
the ECS agent (`PUT $ECS_AGENT_URI/task-protection/v1/state`), renews it before it expires, and
drops it once it has been idle for `idle_grace` seconds: debounced, never a call per message.
The agent being unreachable is logged and retried later; it never stops the worker.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from typing import Any

log = logging.getLogger(__name__)

PROTECTION_PATH = "/task-protection/v1/state"


class TaskProtection:
    """Keeps the task protected while busy; a no-op without an agent URI."""

    def __init__(
        self,
        agent_uri: str | None,
        *,
        expires_minutes: int = 15,
        idle_grace: float = 5.0,
        retry_after: float = 10.0,
        timeout: float = 2.0,
    ) -> None:
        """Talk to the agent at `agent_uri` (`ECS_AGENT_URI`); `None` disables protection.

        Args:
            agent_uri: the ECS agent's base URI, or None outside ECS.
            expires_minutes: lifetime of each protection; renewed at half-life while busy.
            idle_grace: seconds idle before protection is dropped (debounce).
            retry_after: seconds before trying again after the agent failed.
            timeout: HTTP timeout per call.
        """
        self._url = agent_uri.rstrip("/") + PROTECTION_PATH if agent_uri else None
        self._expires = expires_minutes
        self._renew_after = expires_minutes * 60 / 2
        self._idle_grace = idle_grace
        self._retry_after = retry_after
        self._timeout = timeout
        self.protected = False
        self._protected_at = 0.0
        self._idle_since: float | None = None
        self._next_attempt = 0.0

    def update(self, busy: bool, now: float | None = None) -> None:
        """Protect, renew or unprotect according to whether the worker holds messages."""
        if self._url is None:
            return
        now = time.monotonic() if now is None else now
        if now < self._next_attempt:
            return
        if busy:
            self._idle_since = None
            if not self.protected or now - self._protected_at >= self._renew_after:
                self._set(True, now)
            return
        if self._idle_since is None:
            self._idle_since = now
        if self.protected and now - self._idle_since >= self._idle_grace:
            self._set(False, now)

    def close(self) -> None:
        """Drop protection on the way out (the task is stopping anyway)."""
        if self._url is not None and self.protected:
            self._set(False, time.monotonic())

    def _set(self, enabled: bool, now: float) -> None:
        if self._url is None:
            return
        body: dict[str, Any] = {"ProtectionEnabled": enabled}
        if enabled:
            body["ExpiresInMinutes"] = self._expires
        try:
            reply = _put(self._url, body, self._timeout)
        except (OSError, ValueError) as error:
            log.warning("task protection call failed: %s", error, extra={"protected": enabled})
            self._next_attempt = now + self._retry_after
            return
        if "failure" in reply or "error" in reply:
            log.warning("task protection refused: %s", reply, extra={"protected": enabled})
            self._next_attempt = now + self._retry_after
            return
        self.protected = enabled
        self._protected_at = now
        log.info("task protection %s", "set" if enabled else "dropped")


def _put(url: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310  # the agent URI comes from ECS
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="PUT",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        raw = response.read()
    parsed = json.loads(raw) if raw else {}
    return parsed if isinstance(parsed, dict) else {}
