"""gRPC stubs of the five services, opened once per process and shared by every request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health_pb2_grpc

from crm.campaigns.v1 import campaigns_pb2_grpc
from crm.leads.v1 import leads_pb2_grpc
from crm.loyalty.v1 import loyalty_pb2_grpc
from crm.members.v1 import members_pb2_grpc
from crm.reporting.v1 import reporting_pb2_grpc
from crm_common.grpc_client import close_all, stub
from crm_common.settings import ServiceSettings

_STUBS: Mapping[str, type[Any]] = {
    "members": members_pb2_grpc.MembersServiceStub,
    "loyalty": loyalty_pb2_grpc.LoyaltyServiceStub,
    "campaigns": campaigns_pb2_grpc.CampaignsServiceStub,
    "leads": leads_pb2_grpc.LeadsServiceStub,
    "reporting": reporting_pb2_grpc.ReportingServiceStub,
}
SERVICE_NAMES: tuple[str, ...] = tuple(_STUBS)


@dataclass
class Clients:
    """One stub per service plus a ``grpc.health.v1`` stub on the same channel (for /readyz)."""

    members: members_pb2_grpc.MembersServiceStub
    loyalty: loyalty_pb2_grpc.LoyaltyServiceStub
    campaigns: campaigns_pb2_grpc.CampaignsServiceStub
    leads: leads_pb2_grpc.LeadsServiceStub
    reporting: reporting_pb2_grpc.ReportingServiceStub
    health: dict[str, health_pb2_grpc.HealthStub]
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    @classmethod
    def open(cls, settings: ServiceSettings) -> Clients:
        """Channels to ``settings.<name>_addr`` whose calls default to ``rpc_timeout_seconds``."""
        stubs: dict[str, Any] = {}
        health: dict[str, health_pb2_grpc.HealthStub] = {}
        channels: list[grpc.aio.Channel] = []
        for name, stub_cls in _STUBS.items():
            target = getattr(settings, f"{name}_addr")
            service_stub, channel = stub(stub_cls, target, service=name, timeout=settings.rpc_timeout_seconds)
            stubs[name] = service_stub
            health[name] = health_pb2_grpc.HealthStub(channel)
            channels.append(channel)
        return cls(**stubs, health=health, channels=channels)

    async def close(self) -> None:
        """Close every channel (in-flight calls are cancelled)."""
        await close_all(*self.channels)
