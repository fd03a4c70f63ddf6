"""gRPC clients with a deadline on every call, the caller's trace carried, and domain errors restored as
``RemoteError``."""

from __future__ import annotations

from typing import Any, TypeVar

import grpc
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, StatusCode

from crm_common.errors import RemoteError

T = TypeVar("T")


class _ClientInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """Per call: the default deadline, the W3C trace context in the metadata, a client span when the caller's
    trace is recorded, and a service's error restored as ``RemoteError``.

    One interceptor instead of OpenTelemetry's stock one plus ours: the stock one built a span (attributes, a
    context, a done callback) on every call, sampled or not, ~90 µs of a ~260 µs client call. Unrecorded
    calls here only carry the context, so the callee follows the caller's sampling decision.
    """

    def __init__(self, service: str, timeout: float, tracer: trace.Tracer | None = None) -> None:
        self._service = service
        self._timeout = timeout
        self._tracer = tracer

    async def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[override]
        details = client_call_details
        if details.timeout is None:
            details = details._replace(timeout=self._timeout)
        span = None
        if trace.get_current_span().is_recording():
            method = details.method.decode() if isinstance(details.method, bytes) else details.method
            rpc_service, _, rpc_method = method.lstrip("/").rpartition("/")
            tracer = self._tracer or trace.get_tracer(__name__)
            span = tracer.start_span(method, kind=SpanKind.CLIENT, attributes={
                "rpc.system": "grpc", "rpc.service": rpc_service, "rpc.method": rpc_method})
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span) if span is not None else None)
        if carrier:
            details = details._replace(metadata=(*(details.metadata or ()), *carrier.items()))
        try:
            call = await continuation(details, request)
            await call
        except grpc.aio.AioRpcError as err:
            if span is not None:
                span.set_attribute("rpc.grpc.status_code", err.code().value[0])
                span.set_status(StatusCode.ERROR, err.code().name)
            raise RemoteError.from_rpc_error(err, self._service) from None
        else:
            if span is not None:
                span.set_attribute("rpc.grpc.status_code", grpc.StatusCode.OK.value[0])
            return call
        finally:
            if span is not None:
                span.end()


def channel(target: str, *, service: str, timeout: float = 5.0,
            tracer: trace.Tracer | None = None) -> grpc.aio.Channel:
    """An insecure channel (mesh/TLS is the platform's job) whose calls default to ``timeout`` seconds and
    carry the caller's trace (client spans go to ``tracer``, by default the process's)."""
    return grpc.aio.insecure_channel(
        target,
        interceptors=[_ClientInterceptor(service, timeout, tracer)],
        options=[("grpc.keepalive_time_ms", 30_000), ("grpc.max_receive_message_length", 16 * 1024 * 1024)],
    )


def stub(stub_cls: type[T], target: str, *, service: str, timeout: float = 5.0,
         tracer: trace.Tracer | None = None) -> tuple[T, grpc.aio.Channel]:
    """A stub of ``stub_cls`` on a fresh channel; close the channel on shutdown."""
    ch = channel(target, service=service, timeout=timeout, tracer=tracer)
    return stub_cls(ch), ch


async def close_all(*channels: Any) -> None:
    """Close channels, ignoring ones already closed."""
    for ch in channels:
        await ch.close()
