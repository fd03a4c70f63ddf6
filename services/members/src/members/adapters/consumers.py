"""Events the members service consumes: loyalty's orders feed purchase facts, the timeline and auto tags;
reporting's purchase-model scores feed the churn-risk tag."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pymongo.asynchronous.client_session import AsyncClientSession

from crm.loyalty.v1 import events_pb2 as loyalty_events
from crm.reporting.v1 import events_pb2 as reporting_events
from crm_common.consumer import route
from crm_common.errors import NotFound
from crm_common.events import Event
from members.adapters.repository import now

if TYPE_CHECKING:
    from members.adapters.grpc_api import MembersServicer

DURABLE = "members-orders"
SUBJECTS = ["crm.loyalty.v1.OrderRecorded"]
SCORES_DURABLE = "members-scores"


def order_handler(servicer: MembersServicer) -> Any:
    """The inbox handler: applied inside the inbox transaction, so a redelivery has no second effect."""

    async def on_order(session: AsyncClientSession, event: Event) -> None:
        order: loyalty_events.OrderRecorded = event.payload  # type: ignore[assignment]
        if not order.member_id:
            return  # an anonymous purchase: nobody's facts to update
        try:
            doc = await servicer._live_member(order.brand_id, order.member_id, session)
        except NotFound:
            return  # erased (or never ours): the order stays an anonymous fact elsewhere
        occurred = order.occurred_at.ToDatetime(tzinfo=doc["registered_at"].tzinfo)
        stats = dict(doc.get("facts") or {})
        known = set(stats.get("categories") or [])
        bought = {line.category for line in order.lines if line.category}
        facts: dict[str, Any] = {
            **stats,  # keep what other sources put there (the purchase model's score)
            "order_count": int(stats.get("order_count", 0)) + 1,
            "total_spend_fen": int(stats.get("total_spend_fen", 0)) + order.total_fen,
            "categories": sorted(known | bought),
            "last_order_at": max(x for x in (stats.get("last_order_at"), occurred) if x),
        }
        if known and bought - known:
            facts["new_category_at"] = occurred  # a regular buyer tried something new
        await servicer._timeline_add(
            doc,
            "order",
            f"order {order.external_id}",
            "",
            {"order_id": order.order_id, "store_id": order.store_id, "total_fen": str(order.total_fen)},
            occurred,
            session,
            entry_id=f"order:{order.order_id}",
        )
        await servicer._save_member(doc, {"facts": facts}, session, now())

    return route({loyalty_events.OrderRecorded: on_order})


def score_handler(servicer: MembersServicer) -> Any:
    """Reporting scored the member with the purchase model: keep p_alive and let the rules re-tag."""

    async def on_score(session: AsyncClientSession, event: Event) -> None:
        score: reporting_events.ChurnRiskScored = event.payload  # type: ignore[assignment]
        try:
            doc = await servicer._live_member(score.brand_id, score.member_id, session)
        except NotFound:
            return  # erased or merged away since the model ran
        stats = dict(doc.get("facts") or {})
        if stats.get("model_calibration_end", "") > score.calibration_end:
            return  # a newer model already spoke for this member
        stats.update(
            model_churn_risk=score.churn_risk,
            p_alive=round(score.p_alive, 4),
            model_calibration_end=score.calibration_end,
        )
        await servicer._save_member(doc, {"facts": stats}, session, now())

    return route({reporting_events.ChurnRiskScored: on_score})
