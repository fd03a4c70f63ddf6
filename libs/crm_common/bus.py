"""The NATS JetStream connection every service shares: streams per producing service, publish with PubAck."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import PubAck, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from crm.common.v1.events_pb2 import EventEnvelope
from crm_common.events import headers_for, stream_for, stream_subjects

__all__ = ["EventBus", "PublishError"]

log = logging.getLogger(__name__)

# JetStream drops a re-published Nats-Msg-Id within this window; it must outlast a relay's retry after
# a crash between PubAck and marking the outbox row sent.
DUPLICATE_WINDOW_SECONDS = 120.0


class PublishError(RuntimeError):
    """JetStream did not acknowledge a publish."""


class EventBus:
    """A NATS connection with its JetStream context; reconnects forever."""

    def __init__(self, nc: NATS, *, name: str) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.name = name
        # Bumped on every reconnect: consumers rebuild their pull subscription when it changes
        # (nats.py #504: a pull subscription can silently stop after a server restart).
        self.reconnects = 0

    @classmethod
    async def connect(cls, url: str, *, name: str) -> EventBus:
        """Connect to NATS, retrying forever, with short reconnect waits so outages end quickly."""
        holder: list[EventBus] = []

        async def on_error(exc: Exception) -> None:
            log.warning("nats error on %s: %s", name, exc)

        async def on_disconnected() -> None:
            log.warning("nats disconnected (%s)", name)

        async def on_reconnected() -> None:
            log.info("nats reconnected (%s)", name)
            if holder:
                holder[0].reconnects += 1

        nc = await nats.connect(
            url,
            name=name,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=2,
            error_cb=on_error,
            disconnected_cb=on_disconnected,
            reconnected_cb=on_reconnected,
        )
        bus = cls(nc, name=name)
        holder.append(bus)
        return bus

    @property
    def connected(self) -> bool:
        """True while the connection to a NATS server is up."""
        return self.nc.is_connected

    async def ensure_stream(self, service: str) -> None:
        """Create (or bring up to date) the file-backed stream of a producing service."""
        config = StreamConfig(
            name=stream_for(service),
            subjects=stream_subjects(service),
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
        )
        try:
            info = await self.js.stream_info(config.name)
        except NotFoundError:
            try:
                await self.js.add_stream(config)
                return
            except BadRequestError:
                # Another replica created it between our lookup and add; fall through to compare.
                info = await self.js.stream_info(config.name)
        current = info.config
        if sorted(current.subjects or []) != sorted(config.subjects or []) or (
            current.duplicate_window != config.duplicate_window
        ):
            await self.js.update_stream(
                current.evolve(subjects=config.subjects, duplicate_window=config.duplicate_window)
            )

    async def publish(
        self,
        envelope: EventEnvelope,
        *,
        timeout: float = 5.0,
        trace: dict[str, str] | None = None,
    ) -> None:
        """Publish an envelope on subject = its type and wait for the PubAck; raises when there is none.

        `trace` is a stored trace carrier (see `headers_for`); by default the current context is used.
        """
        if not self.nc.is_connected:
            # While reconnecting, nats.py would buffer the publish and wait out the whole timeout; fail
            # fast instead so the relay backs off and keeps the row.
            raise PublishError(f"publish of event {envelope.id} ({envelope.type}) failed: not connected to NATS")
        try:
            ack = await self.js.publish(
                envelope.type,
                envelope.SerializeToString(),
                timeout=timeout,
                headers=headers_for(envelope, trace=trace),
            )
        except Exception as exc:
            raise PublishError(f"publish of event {envelope.id} ({envelope.type}) failed: {exc!r}") from exc
        if ack.duplicate:
            log.debug("event %s already in stream %s (deduplicated)", envelope.id, ack.stream)

    async def publish_batch(
        self,
        items: Sequence[tuple[EventEnvelope, dict[str, str] | None]],
        *,
        timeout: float = 5.0,
    ) -> tuple[int, PublishError | None]:
        """Publish envelopes in order, pipelined: all are sent, then the PubAcks are awaited in order.

        Returns how many leading envelopes were acknowledged and the first failure (None when all were).
        One connection keeps the order of what it sends, so the stream stores them in this order; an
        envelope after a failed one may be stored too, and its re-publish is dropped by the duplicate
        window (Nats-Msg-Id = event id). Sending the batch before waiting lets nats.py write it in a few
        socket writes and costs one round trip instead of one per event.
        """
        if not self.nc.is_connected:
            first = items[0][0] if items else None
            what = f"event {first.id} ({first.type})" if first else "batch"
            return 0, PublishError(f"publish of {what} failed: not connected to NATS")
        acks: list[asyncio.Future[PubAck]] = []
        send_failure: PublishError | None = None
        for envelope, trace in items:
            try:
                # No wait_stall: with one, nats.py wraps every publish in a task; a batch is far below its
                # limit of pending publishes anyway.
                acks.append(
                    await self.js.publish_async(
                        envelope.type, envelope.SerializeToString(), headers=headers_for(envelope, trace=trace)
                    )
                )
            except Exception as exc:
                send_failure = PublishError(f"publish of event {envelope.id} ({envelope.type}) failed: {exc!r}")
                break
        if acks:
            await asyncio.wait(acks, timeout=timeout)
        done = 0
        for (envelope, _), ack in zip(items, acks, strict=False):
            if not ack.done() or ack.cancelled() or ack.exception() is not None:
                for late in acks[done:]:
                    if late.done() and not late.cancelled():
                        late.exception()  # seen: no "exception never retrieved" warning
                    late.cancel()  # frees its slot among nats.py's pending async publishes
                reason = "no PubAck in time" if not ack.done() or ack.cancelled() else repr(ack.exception())
                return done, PublishError(f"publish of event {envelope.id} ({envelope.type}) failed: {reason}")
            done += 1
        return done, send_failure

    async def close(self) -> None:
        """Drain subscriptions and pending publishes, then close."""
        if self.nc.is_closed:
            return
        try:
            await self.nc.drain()
        except Exception:  # a drain on a dead connection fails; closing is all we want then
            await self.nc.close()
