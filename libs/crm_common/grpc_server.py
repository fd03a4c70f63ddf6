"""gRPC server bootstrap shared by every service: health, reflection, error mapping, RED metrics, shutdown.

A service's composition root builds a ``Service`` (its servicers plus start/stop hooks for pools, the
outbox relay and consumers) and hands it to ``run``/``main``. Health reports NOT_SERVING until the
service's ``start`` hook has connected its database and NATS, and again while draining on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import uvloop
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from prometheus_client import Counter, Histogram

from crm_common.errors import ERROR_TRAILER, DomainError, RemoteError
from crm_common.settings import ServiceSettings

log = logging.getLogger(__name__)

RPC_LATENCY = Histogram(
    "crm_grpc_server_handling_seconds",
    "Time to handle a gRPC call",
    ["service", "method", "code"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
RPC_ERRORS = Counter(
    "crm_grpc_server_errors_total", "gRPC calls that ended in an error", ["service", "method", "reason"]
)

Hook = Callable[[], Awaitable[None]]


@dataclass
class Service:
    """What a composition root hands to the server: servicers and lifecycle hooks."""

    name: str
    servicers: Sequence[tuple[Callable[[Any, grpc.aio.Server], None], Any, str]]
    """(add_XServicer_to_server, servicer instance, full service name) triples."""
    start: Hook | None = None
    """Connect pools and NATS, start relays and consumers. Health turns SERVING after it returns."""
    stop: Hook | None = None
    """Drain consumers, stop relays, close pools; runs after in-flight calls finished."""
    extra: dict[str, Any] = field(default_factory=dict)


class _ErrorAndMetricsInterceptor(grpc.aio.ServerInterceptor):
    """Turns DomainError / RemoteError into status + trailer, hides internals, and records RED metrics."""

    def __init__(self, service_name: str) -> None:
        self._service = service_name

    async def intercept_service(self, continuation, handler_call_details):  # type: ignore[override]
        handler = await continuation(handler_call_details)
        if handler is None or not handler.unary_unary:
            return handler
        method = handler_call_details.method.rsplit("/", 1)[-1]
        inner = handler.unary_unary
        service = self._service

        async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            code = "OK"
            try:
                return await inner(request, context)
            except DomainError as err:
                code = err.code.name
                RPC_ERRORS.labels(service, method, err.reason).inc()
                context.set_trailing_metadata(((ERROR_TRAILER, err.to_trailer()),))
                await context.abort(err.code, err.message)
            except RemoteError as err:
                # A downstream service said no: pass its reason on unchanged.
                code = err.code.name
                RPC_ERRORS.labels(service, method, err.reason).inc()
                passed = DomainError(err.message, reason=err.reason, field=err.field, details=err.details)
                context.set_trailing_metadata(((ERROR_TRAILER, passed.to_trailer()),))
                await context.abort(err.code, err.message)
            except asyncio.CancelledError:
                code = "CANCELLED"
                raise
            except Exception as err:
                if isinstance(err, grpc.aio.AbortError):
                    code = (context.code() or grpc.StatusCode.UNKNOWN).name
                    raise
                code = "INTERNAL"
                RPC_ERRORS.labels(service, method, "INTERNAL").inc()
                log.exception("unhandled error in %s", method)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")
            finally:
                RPC_LATENCY.labels(service, method, code).observe(time.perf_counter() - started)

        return grpc.unary_unary_rpc_method_handler(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class ServiceHost:
    """Runs one ``Service`` on a grpc.aio server until asked to stop."""

    def __init__(self, service: Service, settings: ServiceSettings) -> None:
        self.service = service
        self.settings = settings
        self.health = HealthServicer()
        self.server = grpc.aio.server(
            interceptors=[_ErrorAndMetricsInterceptor(service.name)],
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 16 * 1024 * 1024)],
        )
        self.port = 0
        self._stopping = asyncio.Event()

    async def start(self) -> int:
        """Bind, serve NOT_SERVING, run the service's start hook, then report SERVING. Returns the port."""
        names = [name for _, _, name in self.service.servicers]
        for add, servicer, _ in self.service.servicers:
            add(servicer, self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection([*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                                             reflection.SERVICE_NAME], self.server)
        for name in ["", *names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        self.port = self.server.add_insecure_port(f"{self.settings.grpc_host}:{self.settings.grpc_port}")
        await self.server.start()
        if self.service.start:
            await self.service.start()
        for name in ["", *names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("serving", extra={"port": self.port})
        return self.port

    def request_stop(self) -> None:
        """Ask a running ``serve`` to drain and stop (signal handlers call this)."""
        self._stopping.set()

    async def stop(self) -> None:
        """NOT_SERVING, stop accepting, let in-flight calls finish, then run the service's stop hook."""
        await self.health.enter_graceful_shutdown()
        if self.settings.drain_delay_seconds:
            await asyncio.sleep(self.settings.drain_delay_seconds)
        await self.server.stop(self.settings.shutdown_grace_seconds)
        if self.service.stop:
            await self.service.stop()
        log.info("stopped")

    async def serve(self) -> None:
        """Start, wait for SIGTERM/SIGINT (or ``request_stop``), then stop gracefully."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        await self.start()
        await self._stopping.wait()
        await self.stop()


def main(
    settings_cls: type[ServiceSettings],
    build: Callable[[Any], Awaitable[Service]],
    migrate: Callable[[Any], Awaitable[None]] | None = None,
) -> None:
    """Process entrypoint: ``python -m <service>`` serves, ``python -m <service> migrate`` migrates and exits."""
    from crm_common import telemetry
    from crm_common.settings import load_settings

    settings = load_settings(settings_cls)
    command = sys.argv[1] if len(sys.argv) > 1 else "serve"
    if command == "migrate":
        telemetry.configure_logging(settings.service_name, settings.log_level)
        if migrate is not None:
            asyncio.run(migrate(settings))
        return
    if command != "serve":
        raise SystemExit(f"usage: python -m {settings.service_name} [serve|migrate]")
    telemetry.setup(settings.service_name, level=settings.log_level, metrics_port=settings.metrics_port)

    async def run() -> None:
        host = ServiceHost(await build(settings), settings)
        await host.serve()

    # uvloop: the event loop asyncpg is built for; grpc.aio runs on any asyncio loop.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run())


@contextlib.asynccontextmanager
async def serving(service: Service, settings: ServiceSettings):  # type: ignore[no-untyped-def]
    """Run a service in-process on ``settings.grpc_port`` (0 = a free port) and yield ``host:port``.

    Component tests and benchmarks use it to talk to a real server over real gRPC.
    """
    host = ServiceHost(service, settings)
    port = await host.start()
    try:
        yield f"{settings.grpc_host}:{port}"
    finally:
        await host.stop()
