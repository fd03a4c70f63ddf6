"""gRPC handlers of ``crm.reporting.v1.ReportingService``."""

from __future__ import annotations

import asyncpg
import grpc

from crm.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from crm_common.errors import InvalidArgument
from reporting.adapters import repository
from reporting.domain.kpis import derive, parse_range


class ReportingServicer(reporting_pb2_grpc.ReportingServiceServicer):
    """KPIs from the fact tables."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def GetKpis(
        self, request: reporting_pb2.GetKpisRequest, context: grpc.aio.ServicerContext
    ) -> reporting_pb2.Kpis:
        """KPIs of a brand-local date range, optionally of one store. A brand with no facts gets zeros."""
        if not request.brand_id:
            raise InvalidArgument("brand_id is required", field="brand_id")
        days = parse_range(request.from_date, request.to_date)
        counts = await repository.count(self._pool, request.brand_id, days, request.store_id or None)
        kpis = derive(counts)
        return reporting_pb2.Kpis(
            orders=kpis.orders,
            revenue_fen=kpis.revenue_fen,
            aov_fen=kpis.aov_fen,
            buyers=kpis.buyers,
            repeat_buyers=kpis.repeat_buyers,
            repurchase_rate=kpis.repurchase_rate,
            new_members=kpis.new_members,
        )
