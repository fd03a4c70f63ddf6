"""The audit trail of privileged actions: who did what to which record, and whether it worked.

Each event is one structured log line (``event="audit"``) and, when the gateway is connected to NATS, a
JSON message on JetStream subject ``audit.gateway.<action>`` (stream ``AUDIT``) for retention outside the
logs. Events carry ids only, never PII: no phone, name or password ever reaches this module's callers'
``fields`` (they pass ids), and the shared log redaction is a second net.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Iterable
from typing import Any

import structlog
from fastapi import Request
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

log = logging.getLogger(__name__)
_events = structlog.get_logger("gateway.audit")

AUDIT_STREAM = "AUDIT"
AUDIT_SUBJECTS = ["audit.>"]


class AuditLog:
    """Records privileged actions (logins, role changes, PII reads, transfers, adjustments, exports)."""

    def __init__(self, js: JetStreamContext | None = None) -> None:
        self._js = js
        self._pending: set[asyncio.Task[None]] = set()
        self.recent: list[dict[str, Any]] = []
        """The last events of this process (tests and debugging; bounded)."""

    @classmethod
    async def with_jetstream(cls, js: JetStreamContext) -> AuditLog:
        """An audit log that also publishes to the ``AUDIT`` stream (created if missing)."""
        try:
            await js.stream_info(AUDIT_STREAM)
        except NotFoundError:
            try:
                await js.add_stream(StreamConfig(name=AUDIT_STREAM, subjects=AUDIT_SUBJECTS,
                                                 storage=StorageType.FILE))
            except BadRequestError:
                pass  # another replica created it first
        return cls(js)

    def record(self, action: str, *, actor: str, outcome: str = "ok", brand_id: str | None = None,
               target: str | None = None, request: Request | None = None,
               **fields: str | int | list[str] | None) -> None:
        """Record one action. ``actor`` is ``staff:<id>``, ``pos:<key id>``, ``member:<id>`` or
        ``anonymous``; ``target`` is ``<kind>:<id>``; ``fields`` must be ids or counts, never PII."""
        event: dict[str, Any] = {
            "id": uuid.uuid4().hex, "at": time.time(), "action": action, "actor": actor, "outcome": outcome,
            "brand_id": brand_id, "target": target,
            **{k: v for k, v in fields.items() if v is not None},
        }
        if request is not None:
            event["route"] = getattr(request.scope.get("route"), "path", None)
            event["client"] = request.client.host if request.client else None
        _events.info("audit", **{("audit_" + k if k == "id" else k): v for k, v in event.items()})
        self.recent = [*self.recent[-199:], event]
        if self._js is not None:
            task = asyncio.get_running_loop().create_task(self._publish(event))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _publish(self, event: dict[str, Any]) -> None:
        assert self._js is not None
        try:
            await self._js.publish(f"audit.gateway.{event['action']}", json.dumps(event).encode(),
                                   headers={"Nats-Msg-Id": event["id"]}, timeout=2.0)
        except Exception as exc:  # the log line above is the record of last resort
            log.warning("audit event %s not published: %r", event["id"], exc)

    async def drain(self) -> None:
        """Wait for publishes in flight (at shutdown)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)


async def audit_log(request: Request) -> AuditLog:
    """The app's audit log (async: no threadpool hop)."""
    audit: AuditLog = request.app.state.audit
    return audit


PII_READ_IDS_MAX = 500
"""Member ids listed in one ``pii.read`` event; a bigger read (an export) records the count and the first
ids, since a JetStream message (1 MiB by default) cannot hold 100k ids and the export job has its own
record of what it wrote."""


def record_pii_read(request: Request, member_ids: Iterable[str], purpose: str) -> None:
    """Record that the caller of ``request`` was shown personal data of ``member_ids``.

    Call it after the read succeeded, from any route that returns a member's phone, name, birthday or
    address (a profile, a search page, an export), with ``purpose`` a short fixed label such as
    ``"member.view"`` or ``"member.search"`` — never request text, which may itself be a phone number.
    The caller is the principal the auth dependency put on ``request.state`` (staff, POS key or member);
    ``masked`` says whether the phone was shown masked (clerks, analysts), which is still a read of the
    name. Reads of nobody (an empty page) are not recorded.
    """
    ids = list(dict.fromkeys(member_ids))
    if not ids:
        return
    caller = getattr(request.state, "principal", None)
    actor = getattr(caller, "actor", "anonymous")
    brand_id = getattr(caller, "brand_id", None) or request.path_params.get("brand_id")
    sees_pii = getattr(caller, "sees_pii", False)
    audit: AuditLog = request.app.state.audit
    audit.record(
        "pii.read", actor=actor, brand_id=brand_id or None, request=request,
        target=f"member:{ids[0]}" if len(ids) == 1 else None, purpose=purpose,
        member_ids=ids[:PII_READ_IDS_MAX], member_count=len(ids), masked=int(not sees_pii),
    )
