"""gRPC clients with a deadline on every call and domain errors restored as ``RemoteError``."""

from __future__ import annotations

from typing import Any, TypeVar

import grpc

from crm_common.errors import RemoteError

T = TypeVar("T")


class _DeadlineAndErrors(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, service: str, timeout: float) -> None:
        self._service = service
        self._timeout = timeout

    async def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[override]
        if client_call_details.timeout is None:
            client_call_details = client_call_details._replace(timeout=self._timeout)
        call = await continuation(client_call_details, request)
        try:
            await call
        except grpc.aio.AioRpcError as err:
            raise RemoteError.from_rpc_error(err, self._service) from None
        return call


def channel(target: str, *, service: str, timeout: float = 5.0) -> grpc.aio.Channel:
    """An insecure channel (mesh/TLS is the platform's job) whose calls default to ``timeout`` seconds."""
    return grpc.aio.insecure_channel(
        target,
        interceptors=[_DeadlineAndErrors(service, timeout)],
        options=[("grpc.keepalive_time_ms", 30_000), ("grpc.max_receive_message_length", 16 * 1024 * 1024)],
    )


def stub(stub_cls: type[T], target: str, *, service: str, timeout: float = 5.0) -> tuple[T, grpc.aio.Channel]:
    """A stub of ``stub_cls`` on a fresh channel; close the channel on shutdown."""
    ch = channel(target, service=service, timeout=timeout)
    return stub_cls(ch), ch


async def close_all(*channels: Any) -> None:
    """Close channels, ignoring ones already closed."""
    for ch in channels:
        await ch.close()
