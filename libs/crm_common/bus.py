"""The NATS JetStream connection every service shares: streams per producing service, publish with PubAck."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence

import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import Header, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from crm.common.v1.events_pb2 import EventEnvelope
from crm_common.events import headers_for, stream_for, stream_subjects

__all__ = ["EventBus", "PublishError"]

log = logging.getLogger(__name__)

# JetStream drops a re-published Nats-Msg-Id within this window; it must outlast a relay's retry after
# a crash between PubAck and marking the outbox row sent.
DUPLICATE_WINDOW_SECONDS = 120.0


# What JetStream answers on a publish's reply subject when no stream takes the subject.
NO_RESPONDERS_STATUS = "503"
_NO_ACK = "no PubAck in time"


class PublishError(RuntimeError):
    """JetStream did not acknowledge a publish."""


class _PendingAcks:
    """The PubAcks of one pipelined batch, by index: None once stored, else why not (``_NO_ACK`` until heard)."""

    __slots__ = ("all_in", "outcomes", "waiting")

    def __init__(self, size: int) -> None:
        self.outcomes: list[str | None] = [_NO_ACK] * size
        self.waiting = size
        self.all_in: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def expect(self, sent: int) -> None:
        """Only the first ``sent`` were sent (a send failed): stop waiting for the rest."""
        self.waiting -= len(self.outcomes) - sent
        self._check()

    def record(self, index: int, outcome: str | None) -> None:
        if 0 <= index < len(self.outcomes) and self.outcomes[index] is _NO_ACK:
            self.outcomes[index] = outcome
            self.waiting -= 1
            self._check()

    def _check(self) -> None:
        if self.waiting <= 0 and not self.all_in.done():
            self.all_in.set_result(None)


class EventBus:
    """A NATS connection with its JetStream context; reconnects forever."""

    def __init__(self, nc: NATS, *, name: str) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.name = name
        # Bumped on every reconnect: consumers rebuild their pull subscription when it changes
        # (nats.py #504: a pull subscription can silently stop after a server restart).
        self.reconnects = 0
        # PubAcks of pipelined batches arrive on <inbox>.<batch>.<index> (nats.py resubscribes on reconnect).
        self._acks_to: str | None = None
        self._batch_seq = 0
        self._pending_acks: dict[int, _PendingAcks] = {}

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
        """Publish envelopes in order, pipelined: all are sent, then their PubAcks are awaited together.

        Returns how many leading envelopes were acknowledged and the first failure (None when all were).
        One connection keeps the order of what it sends, so the stream stores them in this order; an
        envelope after a failed one may be stored too, and its re-publish is dropped by the duplicate
        window (Nats-Msg-Id = event id). Sending the batch before waiting costs one round trip instead of
        one per event, and the acks come back on one wildcard subscription as ``<inbox>.<batch>.<index>``:
        nats.py's ``publish_async`` would take a semaphore, a random token and a future per event.
        """
        if not self.nc.is_connected:
            first = items[0][0] if items else None
            what = f"event {first.id} ({first.type})" if first else "batch"
            return 0, PublishError(f"publish of {what} failed: not connected to NATS")
        if not items:
            return 0, None
        inbox = await self._ack_inbox()
        self._batch_seq += 1
        batch_id, batch = self._batch_seq, _PendingAcks(len(items))
        self._pending_acks[batch_id] = batch
        reply = f"{inbox}.{batch_id}."
        send_failure: PublishError | None = None
        sent = 0
        try:
            for envelope, trace in items:
                try:
                    await self.nc.publish(
                        envelope.type,
                        envelope.SerializeToString(),
                        reply=f"{reply}{sent}",
                        headers=headers_for(envelope, trace=trace),
                    )
                except Exception as exc:
                    send_failure = PublishError(f"publish of event {envelope.id} ({envelope.type}) failed: {exc!r}")
                    break
                sent += 1
            batch.expect(sent)
            if sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(batch.all_in, timeout)
        finally:
            del self._pending_acks[batch_id]  # a late ack finds no batch and is dropped
        done = 0
        for envelope, _ in items[:sent]:
            outcome = batch.outcomes[done]
            if outcome is not None:
                return done, PublishError(f"publish of event {envelope.id} ({envelope.type}) failed: {outcome}")
            done += 1
        return done, send_failure

    async def _ack_inbox(self) -> str:
        """The wildcard inbox PubAcks of batches come back on, subscribed on first use."""
        if self._acks_to is None:
            inbox = self.nc.new_inbox()
            subscription = await self.nc.subscribe(f"{inbox}.>", cb=self._on_ack)
            if self._acks_to is None:
                self._acks_to = inbox
            else:  # a concurrent first batch subscribed meanwhile
                await subscription.unsubscribe()
        return self._acks_to

    async def _on_ack(self, msg: Msg) -> None:
        _, batch_id, index = msg.subject.rsplit(".", 2)
        try:
            batch = self._pending_acks.get(int(batch_id))
            position = int(index)
        except ValueError:
            return  # not a reply to one of our publishes
        if batch is None:
            return  # the batch gave up waiting; its rows stay unsent and are published again
        if msg.headers and msg.headers.get(Header.STATUS) == NO_RESPONDERS_STATUS:
            batch.record(position, "no responders (no stream takes this subject)")
        elif b'"error"' in msg.data:  # a PubAck is {"stream":...,"seq":...}; an error names itself
            try:
                error = json.loads(msg.data).get("error", msg.data)
            except ValueError:
                error = msg.data
            batch.record(position, f"JetStream error {error}")
        else:
            batch.record(position, None)

    async def close(self) -> None:
        """Drain subscriptions and pending publishes, then close."""
        if self.nc.is_closed:
            return
        try:
            await self.nc.drain()
        except Exception:  # a drain on a dead connection fails; closing is all we want then
            await self.nc.close()
