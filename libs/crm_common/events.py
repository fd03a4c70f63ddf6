"""Domain events on the wire: the protobuf envelope, CloudEvents-style NATS headers, stream naming.

Every event travels as a `crm.common.v1.EventEnvelope` whose `data` packs the concrete message; the
same metadata (and the W3C trace context) rides in NATS headers so routers and dedupe need not parse.
"""

from __future__ import annotations

import importlib
import os
import threading
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message
from google.protobuf.timestamp_pb2 import Timestamp
from opentelemetry import propagate

from crm.common.v1.events_pb2 import EventEnvelope

__all__ = [
    "Event",
    "EventDecodeError",
    "UnknownEventType",
    "build_envelope",
    "decode",
    "event_type",
    "headers_for",
    "new_event_id",
    "stream_for",
    "stream_subjects",
    "trace_carrier",
]

# Header names (CloudEvents binary-mode style, lower case as NATS preserves case as given).
CE_ID = "ce-id"
CE_TYPE = "ce-type"
CE_SOURCE = "ce-source"
CE_TIME = "ce-time"
CE_SUBJECT = "ce-subject"
BRAND_ID = "crm-brand-id"
MSG_ID = "Nats-Msg-Id"
TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"


class EventDecodeError(ValueError):
    """The bytes are not an EventEnvelope (a poison message: retrying cannot help)."""


class UnknownEventType(LookupError):
    """The envelope is fine but this process has no protobuf class for its payload type."""


def stream_for(service: str) -> str:
    """JetStream stream name of a producing service: "members" -> "MEMBERS"."""
    return service.upper().replace("-", "_")


def stream_subjects(service: str) -> list[str]:
    """Subjects captured by a service's stream: every event type in its proto package."""
    return [f"crm.{service}.>"]


def event_type(message: Message) -> str:
    """The event type of a payload, its full proto name; it is also the NATS subject."""
    return message.DESCRIPTOR.full_name


_uuid_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_event_id() -> str:
    """A UUIDv7 (RFC 9562): time-ordered, monotonic within this process, so ids sort by creation."""
    global _last_ms, _counter
    with _uuid_lock:
        ms = _time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms = ms
            # Start the 12-bit counter at a random point in the lower half to leave room for a burst.
            _counter = int.from_bytes(os.urandom(2), "big") & 0x7FF
        else:
            # Same millisecond (or the clock stepped back): keep ordering by bumping the counter.
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
        ms, counter = _last_ms, _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
    h = f"{value:032x}"  # str(uuid.UUID(int=value)) without building the object
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def build_envelope(
    message: Message,
    *,
    source: str,
    brand_id: str,
    subject: str,
    event_id: str | None = None,
    time: datetime | None = None,
) -> EventEnvelope:
    """Wrap a domain event message in an envelope (new time-ordered id and the current time by default)."""
    envelope = EventEnvelope(
        id=event_id or new_event_id(),
        type=event_type(message),
        source=source,
        subject=subject,
        brand_id=brand_id,
    )
    if time is None:
        envelope.time.FromNanoseconds(_time.time_ns())  # what FromDatetime(now) gives, at a fifth of the cost
    else:
        envelope.time.FromDatetime(time.astimezone(UTC))
    envelope.data.Pack(message)
    return envelope


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _timestamp_rfc3339(moment: Timestamp) -> str:
    """``_rfc3339`` of a protobuf Timestamp without building a datetime (the relay formats one per event)."""
    return f"{_time.strftime('%Y-%m-%dT%H:%M:%S', _time.gmtime(moment.seconds))}.{moment.nanos // 1000:06d}Z"


def trace_carrier() -> dict[str, str]:
    """The W3C trace context of the current OpenTelemetry context (empty when there is no span)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {k: v for k, v in carrier.items() if k in (TRACEPARENT, TRACESTATE)}


def headers_for(envelope: EventEnvelope, *, trace: Mapping[str, str] | None = None) -> dict[str, str]:
    """NATS headers for an envelope: ce-*, brand id, Nats-Msg-Id (= ce-id, JetStream dedupe) and trace.

    `trace` is a carrier captured earlier (the outbox stores it when the business change happens, since
    the relay publishes later, outside the request's span); without it the current context is injected.
    """
    headers = {
        CE_ID: envelope.id,
        CE_TYPE: envelope.type,
        CE_SOURCE: envelope.source,
        CE_TIME: _timestamp_rfc3339(envelope.time),
        CE_SUBJECT: envelope.subject,
        BRAND_ID: envelope.brand_id,
        MSG_ID: envelope.id,
    }
    carrier = dict(trace) if trace is not None else trace_carrier()
    for key in (TRACEPARENT, TRACESTATE):
        if carrier.get(key):
            headers[key] = carrier[key]
    return headers


@dataclass(frozen=True)
class Event:
    """A decoded incoming event."""

    id: str
    type: str
    source: str
    time: datetime
    subject: str
    brand_id: str
    payload: Message
    traceparent: str | None


def _message_class(type_name: str) -> type[Message]:
    pool = descriptor_pool.Default()
    try:
        descriptor = pool.FindMessageTypeByName(type_name)
    except KeyError:
        # Events live in crm.<service>.v1.events_pb2 by convention; importing it registers the type,
        # so a consumer need not import every producer's module up front.
        package = type_name.rpartition(".")[0]
        try:
            importlib.import_module(f"{package}.events_pb2")
            descriptor = pool.FindMessageTypeByName(type_name)
        except (ImportError, KeyError) as exc:
            raise UnknownEventType(type_name) from exc
    return message_factory.GetMessageClass(descriptor)


def decode(data: bytes, headers: Mapping[str, str] | None) -> Event:
    """Parse an envelope and unpack its payload into the concrete message class.

    Raises EventDecodeError for bytes that are not an envelope and UnknownEventType when the payload's
    type is not known to this process.
    """
    envelope = EventEnvelope()
    try:
        envelope.ParseFromString(data)
    except DecodeError as exc:
        raise EventDecodeError("not an EventEnvelope") from exc
    if not envelope.id or not envelope.data.type_url:
        raise EventDecodeError("envelope without id or data")
    type_name = envelope.data.TypeName()
    payload = _message_class(type_name)()
    if not envelope.data.Unpack(payload):
        raise EventDecodeError(f"cannot unpack {type_name}")
    return Event(
        id=envelope.id,
        type=envelope.type or type_name,
        source=envelope.source,
        time=envelope.time.ToDatetime(tzinfo=UTC),
        subject=envelope.subject,
        brand_id=envelope.brand_id,
        payload=payload,
        traceparent=(headers or {}).get(TRACEPARENT),
    )
