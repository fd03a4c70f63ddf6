"""Envelope encoding, headers and stream naming (no servers)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from crm.loyalty.v1.events_pb2 import OrderRecorded
from crm.members.v1.events_pb2 import MemberRegistered
from crm_common.events import (
    EventDecodeError,
    build_envelope,
    decode,
    event_type,
    headers_for,
    new_event_id,
    stream_for,
    stream_subjects,
)


def test_stream_naming_follows_the_producing_service() -> None:
    assert stream_for("members") == "MEMBERS"
    assert stream_subjects("members") == ["crm.members.>"]
    assert event_type(MemberRegistered()) == "crm.members.v1.MemberRegistered"


def test_event_ids_are_uuid7_and_sort_by_creation() -> None:
    ids = [new_event_id() for _ in range(2000)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_envelope_round_trips_to_the_concrete_payload() -> None:
    moment = datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
    message = OrderRecorded(brand_id="b1", order_id="o1", total_fen=1999, item_count=2)
    envelope = build_envelope(message, source="loyalty", brand_id="b1", subject="o1", time=moment)
    headers = headers_for(envelope)

    event = decode(envelope.SerializeToString(), headers)

    assert event.id == envelope.id
    assert event.type == "crm.loyalty.v1.OrderRecorded"
    assert event.source == "loyalty"
    assert event.subject == "o1"
    assert event.brand_id == "b1"
    assert event.time == moment
    assert isinstance(event.payload, OrderRecorded)
    assert event.payload == message
    assert event.traceparent is None


def test_headers_carry_cloudevents_fields_and_dedupe_id() -> None:
    moment = datetime(2025, 3, 1, 8, 30, 15, tzinfo=UTC)
    envelope = build_envelope(
        MemberRegistered(member_id="m1"),
        source="members",
        brand_id="b9",
        subject="m1",
        event_id="evt-1",
        time=moment,
    )
    headers = headers_for(envelope)
    assert headers["ce-id"] == headers["Nats-Msg-Id"] == "evt-1"
    assert headers["ce-type"] == "crm.members.v1.MemberRegistered"
    assert headers["ce-source"] == "members"
    assert headers["ce-subject"] == "m1"
    assert headers["crm-brand-id"] == "b9"
    assert headers["ce-time"] == "2025-03-01T08:30:15.000000Z"
    assert "traceparent" not in headers  # no active span, nothing to propagate


def test_headers_inject_the_current_trace_context() -> None:
    ctx = SpanContext(trace_id=0x1234, span_id=0x5678, is_remote=False, trace_flags=TraceFlags(1))
    envelope = build_envelope(MemberRegistered(), source="members", brand_id="b", subject="s")
    with trace.use_span(NonRecordingSpan(ctx)):
        headers = headers_for(envelope)
    assert re.fullmatch(r"00-0{28}1234-0{12}5678-01", headers["traceparent"])
    assert decode(envelope.SerializeToString(), headers).traceparent == headers["traceparent"]


def test_garbage_bytes_are_a_decode_error() -> None:
    with pytest.raises(EventDecodeError):
        decode(b"\xff\xff not protobuf", {})
