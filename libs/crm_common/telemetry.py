"""One telemetry setup for every process: JSON logs carrying the trace id, OpenTelemetry traces, Prometheus.

Traces are exported over OTLP only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set; otherwise spans are still
created (so the trace id appears in logs and crosses gRPC and NATS) but go nowhere. 10% of new traces are
recorded unless ``OTEL_TRACES_SAMPLER`` says otherwise.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any, TextIO

import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from prometheus_client import start_http_server

# Keys whose values are secrets or PII: replaced before a log line is written.
_REDACTED_KEYS = frozenset({"password", "phone", "token", "access_token", "refresh_token", "secret", "name"})
_PHONE_RE = re.compile(r"(?<!\d)(\+?86)?1[3-9]\d{9}(?!\d)")
_configured = False
_sampled_asyncpg: Any = None
_sampled_pymongo: Any = None
DEFAULT_SAMPLE_RATIO = 0.1  # of new traces, when OTEL_TRACES_SAMPLER is not set


def _add_trace_ids(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event["trace_id"] = format(ctx.trace_id, "032x")
        event["span_id"] = format(ctx.span_id, "016x")
    return event


def _redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        if key in _REDACTED_KEYS:
            event[key] = "***"
        elif isinstance(event[key], str):
            event[key] = _PHONE_RE.sub("***", event[key])
    return event


def configure_logging(service_name: str, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging to one JSON line per event on ``stream`` (stdout by default)."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_ids,
        _redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    structlog.contextvars.bind_contextvars(service=service_name)
    for noisy in ("nats", "pymongo", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def setup_tracing(service_name: str) -> None:
    """Install the tracer provider and the library instrumentations (idempotent)."""
    global _configured
    if _configured:
        return
    _configured = True
    # Head sampling bounds what tracing costs (a span per gRPC call and per SQL statement was a sixth of a busy
    # service's CPU): 10% of new traces are recorded unless OTEL_TRACES_SAMPLER says otherwise, and a sampled
    # caller's decision is followed, so a trace is whole or absent. Unsampled requests still get a trace id,
    # which the logs carry and gRPC/NATS propagate.
    sampler = None if os.environ.get("OTEL_TRACES_SAMPLER") else ParentBased(TraceIdRatioBased(DEFAULT_SAMPLE_RATIO))
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}), sampler=sampler)
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)

    # gRPC calls are traced by crm_common.grpc_server's handler wrapping and crm_common.grpc_client's wrapper: the stock
    # instrumentation cost a quarter of a small call on the server and a third on the client, sampled or not.
    try:
        sampled_asyncpg_instrumentor().instrument()
    except Exception:  # instrumentation is best effort; a version skew must not stop a service
        logging.getLogger(__name__).warning("asyncpg instrumentation unavailable", exc_info=True)
    try:
        sampled_pymongo_instrumentor().instrument()
    except Exception:
        logging.getLogger(__name__).warning("pymongo instrumentation unavailable", exc_info=True)


def sampled_asyncpg_instrumentor() -> Any:
    """OpenTelemetry's asyncpg instrumentation, with statement spans only inside a recorded trace.

    The stock one parses the SQL and builds a span per statement even when the trace is not sampled (~9% of a
    busy service's CPU), and statements outside any span (relay polls, job claims) would each start a trace.
    """
    global _sampled_asyncpg
    if _sampled_asyncpg is not None:
        return _sampled_asyncpg
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    class SampledAsyncPGInstrumentor(AsyncPGInstrumentor):  # type: ignore[misc]
        async def _do_execute(self, func: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if not trace.get_current_span().is_recording():
                return await func(*args, **kwargs)
            return await super()._do_execute(func, instance, args, kwargs)

    _sampled_asyncpg = SampledAsyncPGInstrumentor()
    return _sampled_asyncpg


def sampled_pymongo_instrumentor() -> Any:
    """OpenTelemetry's PyMongo instrumentation, with command spans only inside a recorded trace.

    The stock listener renders the command and starts a span for every command, sampled or not, and commands
    outside any span (outbox relay polls, audit flushes, job claims) would each start a trace of their own.
    """
    global _sampled_pymongo
    if _sampled_pymongo is not None:
        return _sampled_pymongo
    from opentelemetry.instrumentation.pymongo import CommandTracer, PymongoInstrumentor

    class SampledCommandTracer(CommandTracer):  # type: ignore[misc]
        def started(self, event: Any) -> None:
            if trace.get_current_span().is_recording():
                super().started(event)

    class SampledPymongoInstrumentor(PymongoInstrumentor):  # type: ignore[misc]
        def _instrument(self, **kwargs: Any) -> None:
            super()._instrument(**kwargs)
            # The stock method builds and registers its listener; ours is that listener with a gate in front
            # (no new state, so changing its class is enough). succeeded/failed find no span and return.
            self._commandtracer_instance.__class__ = SampledCommandTracer

    _sampled_pymongo = SampledPymongoInstrumentor()
    return _sampled_pymongo


def start_metrics_server(port: int, host: str = "127.0.0.1") -> None:
    """Serve Prometheus ``/metrics`` on its own port (0 disables it)."""
    if port:
        start_http_server(port, addr=host)


def setup(service_name: str, *, level: str = "INFO", metrics_port: int = 0, metrics_host: str = "127.0.0.1") -> None:
    """Logging, tracing and metrics for one service process."""
    configure_logging(service_name, level)
    setup_tracing(service_name)
    start_metrics_server(metrics_port, metrics_host)
