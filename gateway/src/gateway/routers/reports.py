"""Brand KPIs (reporting service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from crm.reporting.v1 import reporting_pb2
from gateway.auth import Permission, Principal, brand_access, require_store
from gateway.errors import invalid, problem_responses, rpc
from gateway.routers import ClientsDep
from gateway.schemas import IsoDate, KpisOut

router = APIRouter(prefix="/v1/brands/{brand_id}/reports", tags=["reporting"])

_FIELDS = {"from_date": "from", "to_date": "to"}


@router.get("/kpis", response_model=KpisOut, responses=problem_responses(401, 403, 404, 422))
async def get_kpis(
    brand_id: str,
    clients: ClientsDep,
    caller: Annotated[Principal, Depends(brand_access(Permission.REPORT_READ))],
    from_: Annotated[IsoDate, Query(alias="from", description="First day, brand's timezone (inclusive)")],
    to: Annotated[IsoDate, Query(description="Last day, brand's timezone (inclusive)")],
    store_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> KpisOut:
    """Orders, revenue, AOV, buyers, repeat buyers, repurchase rate and new members of a date range."""
    if to < from_:
        raise invalid(("to", "must not be before from"))
    # The longest allowed span is the reporting service's rule; it answers 422 naming `to` itself.
    if caller.store_scoped:
        # A store manager's report covers one of their stores, never the whole brand.
        if store_id is None and len(caller.store_ids) == 1:
            store_id = caller.store_ids[0]
        if store_id is None:
            raise invalid(("store_id", "required: your role sees reports of its own stores only"))
        require_store(caller, store_id, "store")
    kpis = await rpc(
        clients.reporting.GetKpis(reporting_pb2.GetKpisRequest(
            brand_id=brand_id, from_date=from_.isoformat(), to_date=to.isoformat(), store_id=store_id or "",
        )),
        field_aliases=_FIELDS,
    )
    return KpisOut.of(kpis)
