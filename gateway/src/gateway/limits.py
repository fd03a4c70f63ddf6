"""Request limits: a token bucket per principal / POS key / client address, and a body size cap.

The buckets live in each replica's memory, so with N replicas behind a round-robin balancer a caller gets
up to N times the configured rate. That is accepted on purpose: the limit protects the services from a
runaway client, not a billing quota, and a shared counter would add a network round trip to every request.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import ProblemError

MAX_TRACKED = 100_000
"""Buckets kept at most; the least recently used go first (a full bucket loses nothing by being dropped)."""


class RateLimiter:
    """Token buckets: ``burst`` requests at once, refilled at ``per_minute / 60`` per second."""

    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def check(self, key: str) -> None:
        """Take one token for ``key``, or raise a 429 problem with ``Retry-After``."""
        now = time.monotonic()
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            retry_after = max(1, math.ceil((1 - tokens) / self.rate))
            raise ProblemError(429, "Too many requests; retry later.", reason="RATE_LIMITED",
                               headers={"Retry-After": str(retry_after)})
        self._buckets[key] = (tokens - 1, now)
        while len(self._buckets) > MAX_TRACKED:
            self._buckets.popitem(last=False)


class BodyLimitMiddleware:
    """Refuse bodies over the limit with 413 problem+json, before the app buffers them.

    ``Content-Length`` is checked up front; a chunked body is counted as it streams, so a client cannot
    dodge the limit by leaving the header out.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is None and b"transfer-encoding" not in headers:
            # HTTP/1.1 (uvicorn): no length and no chunking means no body (RFC 9112 §6.3), nothing to count.
            await self.app(scope, receive, send)
            return
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        limit = self.max_upload_bytes if content_type.startswith("multipart/") else self.max_bytes
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException, because FastAPI turns any other error while reading a body into 400.
                    raise _BodyTooLarge(413, f"The request body is larger than {limit} bytes.")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(limit)(scope, receive, send)


class _BodyTooLarge(HTTPException):
    pass


def _too_large(limit: int) -> ASGIApp:
    return ProblemError(413, f"The request body is larger than {limit} bytes.", reason="PAYLOAD_TOO_LARGE",
                        extra={"max_bytes": limit}).to_response()
