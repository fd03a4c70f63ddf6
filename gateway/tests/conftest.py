"""Gateway tests against small fake services served over real gRPC (the shared server bootstrap).

The fakes keep just enough in-memory state to answer like the real services (same reasons, fields and
details), so what is tested is the gateway: auth, scoping, validation, error mapping and translation.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from crm.campaigns.v1 import campaigns_pb2, campaigns_pb2_grpc
from crm.leads.v1 import leads_pb2, leads_pb2_grpc
from crm.loyalty.v1 import loyalty_pb2, loyalty_pb2_grpc
from crm.members.v1 import members_pb2, members_pb2_grpc
from crm.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from crm_common.errors import (
    AlreadyExists,
    Conflict,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from crm_common.grpc_server import Service, serving
from crm_common.settings import ServiceSettings
from gateway.app import create_app
from gateway.auth import TokenIssuer
from gateway.settings import GatewaySettings

JWT_SECRET = "test-secret-0123456789abcdef0123456789abcdef"
BRAND_A, BRAND_B = "brand-a", "brand-b"
REJECTED_PHONE = "17000000000"  # the fake members service refuses it, as if its own check failed
CRASHING_STORE = "store-crash"  # the fake loyalty service raises an unexpected error for it

_ids = itertools.count(1)


def _new_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def _e164(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    return "+" + digits if phone.startswith("+") else "+86" + digits


def _now() -> Timestamp:
    ts = Timestamp()
    ts.GetCurrentTime()
    return ts


def _full_name(module: Any, service: str) -> str:
    return module.DESCRIPTOR.services_by_name[service].full_name


class FakeMembers(members_pb2_grpc.MembersServiceServicer):
    """Brands A and B; staff `admin` (group admin), `clerk.a` (brand A, store a1), `gone` (inactive)."""

    def __init__(self) -> None:
        self.staff: dict[str, tuple[str, members_pb2.Staff]] = {
            "admin": ("admin-pass", members_pb2.Staff(
                id="staff-admin", username="admin", role="group_admin", active=True)),
            "clerk.a": ("clerk-pass", members_pb2.Staff(
                id="staff-clerk-a", brand_id=BRAND_A, username="clerk.a", role="clerk",
                store_ids=["store-a1"], active=True)),
            "gone": ("gone-pass", members_pb2.Staff(
                id="staff-gone", brand_id=BRAND_A, username="gone", role="clerk",
                store_ids=["store-a1"], active=False)),
        }
        self.members: dict[str, members_pb2.Member] = {}
        self.last_store: members_pb2.CreateStoreRequest | None = None
        self.last_staff: members_pb2.CreateStaffRequest | None = None
        self.staff_lookups: list[tuple[str, str]] = []
        self.staff_unavailable = False
        # (brand, "union" | "open", id) → member id; m-a1 is the WeChat user o-a1 / u-a1.
        self.wechat: dict[tuple[str, str, str], str] = {
            (BRAND_A, "open", "o-a1"): "m-a1", (BRAND_A, "union", "u-a1"): "m-a1"}
        for member_id, brand, phone, store in [
            ("m-a1", BRAND_A, "+8613800138000", "store-a1"),
            ("m-a2", BRAND_A, "+8613900139000", "store-a2"),
            ("m-b1", BRAND_B, "+8613700137000", "store-b1"),
        ]:
            self.members[member_id] = members_pb2.Member(
                id=member_id, brand_id=brand, phone=phone, name="Wang Fang", store_id=store,
                registered_at=Timestamp(seconds=1_700_000_000),
            )

    async def VerifyStaffCredentials(self, request, context):
        known = self.staff.get(request.username)
        if known is None or known[0] != request.password:
            raise Unauthenticated("invalid credentials")
        return known[1]

    async def CreateBrand(self, request, context):
        return members_pb2.Brand(id=_new_id("brand"), code=request.code, name=request.name,
                                 timezone=request.timezone or "Asia/Shanghai")

    async def CreateStore(self, request, context):
        self.last_store = request
        store = members_pb2.Store(id=_new_id("store"), brand_id=request.brand_id, code=request.code,
                                  name=request.name, city=request.city, open=True)
        if request.HasField("location"):
            store.location.CopyFrom(request.location)
        return store

    async def CreateStaff(self, request, context):
        self.last_staff = request
        return members_pb2.Staff(id=_new_id("staff"), brand_id=request.brand_id, username=request.username,
                                 display_name=request.display_name, role=request.role,
                                 store_ids=request.store_ids, active=True)

    async def GetStore(self, request, context):
        stores = {"store-a1": BRAND_A, "store-a2": BRAND_A, "store-b1": BRAND_B}
        if stores.get(request.store_id) != request.brand_id:
            raise NotFound("store not found", reason="STORE_NOT_FOUND")
        return members_pb2.Store(id=request.store_id, brand_id=request.brand_id, code=request.store_id,
                                 name=request.store_id, open=True)

    async def RegisterMember(self, request, context):
        phone = _e164(request.phone)
        if phone.endswith(REJECTED_PHONE):
            raise InvalidArgument("not a valid mobile number", reason="INVALID_PHONE", field="phone")
        for member in self.members.values():
            if member.brand_id == request.brand_id and member.phone == phone:
                raise AlreadyExists("a member with this phone already exists", reason="DUPLICATE_PHONE",
                                    details={"member_id": member.id})
        member = members_pb2.Member(
            id=_new_id("m"), brand_id=request.brand_id, phone=phone, name=request.name, gender=request.gender,
            birthday=request.birthday, store_id=request.store_id, channel=request.channel,
            attributes=request.attributes, consents=request.consents,
        )
        self.members[member.id] = member
        return member

    async def SearchMembers(self, request, context):
        phone = _e164(request.phone) if request.phone else None
        found = [m for m in self.members.values()
                 if m.brand_id == request.brand_id and (phone is None or m.phone == phone)]
        return members_pb2.SearchMembersResponse(members=found)

    async def GetMember(self, request, context):
        member = self.members.get(request.member_id)
        if member is None or member.brand_id != request.brand_id:
            raise NotFound(f"member {request.member_id} not found", reason="MEMBER_NOT_FOUND")
        return member

    async def GetStaff(self, request, context):
        self.staff_lookups.append((request.brand_id, request.staff_id))
        if self.staff_unavailable:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "mongodb://members:pw@db unreachable")
        for _, staff in self.staff.values():
            if staff.id == request.staff_id and staff.brand_id == request.brand_id:
                return staff
        raise NotFound("staff not found", reason="STAFF_NOT_FOUND", field="staff_id")

    async def FindOrCreateMemberByWechat(self, request, context):
        """UnionID first, then OpenID, else a new member (no phone) of brand A; brand B has no such RPC use."""
        if request.brand_id not in (BRAND_A, BRAND_B):
            raise NotFound("brand not found", reason="BRAND_NOT_FOUND")
        if not request.open_id:
            raise InvalidArgument("open_id is required", field="open_id")
        for kind, value in (("union", request.union_id), ("open", request.open_id)):
            member_id = self.wechat.get((request.brand_id, kind, value)) if value else None
            if member_id is not None:
                return members_pb2.FindOrCreateMemberByWechatResponse(member=self.members[member_id])
        if request.store_id and request.store_id not in ("store-a1", "store-a2", "store-b1"):
            raise InvalidArgument("no such store in this brand", reason="UNKNOWN_STORE", field="store_id")
        member = members_pb2.Member(id=_new_id("m-wx"), brand_id=request.brand_id, store_id=request.store_id,
                                    channel="wechat")
        self.members[member.id] = member
        for kind, value in (("union", request.union_id), ("open", request.open_id)):
            if value:
                self.wechat[(request.brand_id, kind, value)] = member.id
        return members_pb2.FindOrCreateMemberByWechatResponse(member=member, created=True)


class FakeLoyalty(loyalty_pb2_grpc.LoyaltyServiceServicer):
    """1 point per yuan; idempotent by (brand, external_id) like the real service."""

    def __init__(self) -> None:
        self.orders: dict[tuple[str, str], tuple[bytes, loyalty_pb2.RecordOrderResponse]] = {}
        self.balances: dict[str, int] = {}
        self.calls = 0
        self.coupon_requests: list[tuple[str, str]] = []
        self.order_requests: list[loyalty_pb2.ListMemberOrdersRequest] = []

    async def RecordOrder(self, request, context):
        self.calls += 1
        if request.store_id == CRASHING_STORE:
            raise RuntimeError("connection to postgres://loyalty:hunter2@db/loyalty lost")
        key = (request.brand_id, request.external_id)
        content = request.SerializeToString(deterministic=True)
        if key in self.orders:
            first_content, first = self.orders[key]
            if first_content != content:
                raise AlreadyExists("order exists with other content", reason="ORDER_CONFLICT")
            replay = loyalty_pb2.RecordOrderResponse()
            replay.CopyFrom(first)
            replay.replayed = True
            return replay
        points = request.total_fen // 100
        response = loyalty_pb2.RecordOrderResponse(order_id=_new_id("order"), points_earned=points)
        if request.member_id:
            self.balances[request.member_id] = self.balances.get(request.member_id, 0) + points
            response.member.CopyFrom(loyalty_pb2.MemberPoints(
                member_id=request.member_id, points_balance=self.balances[request.member_id], tier="silver"))
        self.orders[key] = (content, response)
        return response

    async def GetPointsAccount(self, request, context):
        if request.member_id not in ("m-a1", "m-a2", "m-b1"):
            raise NotFound("no such account", reason="ACCOUNT_NOT_FOUND")
        return loyalty_pb2.PointsAccount(
            member_id=request.member_id, balance=120, tier="silver", growth_value=340,
            expiring=[loyalty_pb2.ExpiringPoints(points=20, expires_at=Timestamp(seconds=1_767_225_600))],
        )

    async def ListMemberOrders(self, request, context):
        """Two orders of m-a1 in pages of ``limit``; the cursor is the index of the next one."""
        self.order_requests.append(request)
        orders = [loyalty_pb2.MemberOrder(
            order_id=f"o-{n}", external_id=f"POS-{n}", store_id="store-a1", total_fen=10_000 * n,
            points_earned=100 * n, refunded_fen=0, item_count=n, occurred_at=Timestamp(seconds=1_700_000_000 + n),
        ) for n in (2, 1)] if request.member_id == "m-a1" else []
        if request.cursor and not request.cursor.isdigit():
            raise InvalidArgument("cursor is not valid", field="cursor")
        start = int(request.cursor or 0)
        end = start + (request.limit or 20)
        return loyalty_pb2.ListMemberOrdersResponse(
            orders=orders[start:end], next_cursor=str(end) if end < len(orders) else "")

    async def ListMemberCoupons(self, request, context):
        self.coupon_requests.append((request.brand_id, request.member_id))
        return loyalty_pb2.ListCouponsResponse(items=[loyalty_pb2.Coupon(
            code=f"CPN-{request.member_id}", brand_id=request.brand_id, member_id=request.member_id,
            status="active", kind="cash", value_fen=2000, name="满100减20")])


_LEAD_MOVES = {"new": {"contacted", "lost"}, "contacted": {"qualified", "lost"}, "qualified": {"won", "lost"},
               "won": set(), "lost": set()}


class FakeLeads(leads_pb2_grpc.LeadsServiceServicer):
    """Assigns to the given store (else store-a2) and a fixed clerk; follow-ups and stages as the service rules."""

    def __init__(self) -> None:
        self.leads: dict[str, leads_pb2.Lead] = {}
        self.follow_ups: dict[str, list[leads_pb2.FollowUp]] = {}
        self.keys: dict[tuple[str, str], leads_pb2.FollowUp] = {}
        self.last: leads_pb2.CreateLeadRequest | None = None
        self.last_list: leads_pb2.ListLeadsRequest | None = None
        self.last_follow_up: leads_pb2.AddFollowUpRequest | None = None
        self.last_stage: leads_pb2.ChangeLeadStageRequest | None = None

    async def CreateLead(self, request, context):
        self.last = request
        lead = leads_pb2.Lead(
            id=_new_id("lead"), brand_id=request.brand_id, source=request.source, name=request.name,
            phone=_e164(request.phone), interest=request.interest, store_id=request.store_id or "store-a2",
            assignee_id="staff-clerk-a", stage="new",
        )
        self.leads[lead.id] = lead
        return lead

    async def GetLead(self, request, context):
        lead = self.leads.get(request.lead_id)
        if lead is None or lead.brand_id != request.brand_id:
            raise NotFound("lead not found", reason="LEAD_NOT_FOUND")
        return lead

    def _visible(self, request) -> leads_pb2.Lead:
        lead = self.leads.get(request.lead_id)
        if (lead is None or lead.brand_id != request.brand_id
                or (request.HasField("scope") and lead.store_id not in request.scope.store_ids)):
            raise NotFound("lead not found", reason="LEAD_NOT_FOUND", field="lead_id")
        return lead

    @staticmethod
    def _may_work(lead: leads_pb2.Lead, actor: leads_pb2.Actor) -> None:
        if not (actor.manager or (lead.assignee_id and lead.assignee_id == actor.staff_id)):
            raise PermissionDenied("only the lead's assignee or a manager may work this lead",
                                   reason="NOT_ASSIGNEE", field="lead_id")

    async def ListLeads(self, request, context):
        self.last_list = request
        found = [
            lead for lead in reversed(self.leads.values())
            if lead.brand_id == request.brand_id
            and (not request.assignee_id or lead.assignee_id == request.assignee_id)
            and (not request.stage or lead.stage == request.stage)
            and (not request.store_id or lead.store_id == request.store_id)
            and (not request.HasField("scope") or lead.store_id in request.scope.store_ids)
        ]
        start = int(request.cursor or 0)
        end = start + (request.limit or 50)
        return leads_pb2.ListLeadsResponse(leads=found[start:end],
                                           next_cursor=str(end) if end < len(found) else "")

    async def AddFollowUp(self, request, context):
        self.last_follow_up = request
        lead = self._visible(request)
        if request.idempotency_key and (request.brand_id, request.idempotency_key) in self.keys:
            return leads_pb2.AddFollowUpResponse(
                follow_up=self.keys[(request.brand_id, request.idempotency_key)], lead=lead, replayed=True)
        self._may_work(lead, request.actor)
        if lead.stage in ("won", "lost"):
            raise Conflict(f"the lead is {lead.stage}: a closed lead takes no follow-ups", reason="LEAD_CLOSED")
        follow_up = leads_pb2.FollowUp(
            id=_new_id("followup"), brand_id=lead.brand_id, lead_id=lead.id, author_id=request.actor.staff_id,
            note=request.note, channel=request.channel or "other", created_at=_now(),
        )
        if request.HasField("next_follow_up_at"):
            follow_up.next_follow_up_at.CopyFrom(request.next_follow_up_at)
        self.follow_ups.setdefault(lead.id, []).insert(0, follow_up)
        if request.idempotency_key:
            self.keys[(request.brand_id, request.idempotency_key)] = follow_up
        lead.follow_up_count += 1
        if lead.stage == "new":
            lead.stage = "contacted"
        return leads_pb2.AddFollowUpResponse(follow_up=follow_up, lead=lead)

    async def ListFollowUps(self, request, context):
        lead = self._visible(request)
        follow_ups = self.follow_ups.get(lead.id, [])
        start = int(request.cursor or 0)
        end = start + (request.limit or 50)
        return leads_pb2.ListFollowUpsResponse(follow_ups=follow_ups[start:end],
                                               next_cursor=str(end) if end < len(follow_ups) else "")

    async def ChangeLeadStage(self, request, context):
        self.last_stage = request
        lead = self._visible(request)
        if request.stage not in _LEAD_MOVES:
            raise InvalidArgument(f"unknown stage {request.stage!r}", reason="UNKNOWN_STAGE", field="stage")
        self._may_work(lead, request.actor)
        if request.stage == lead.stage:
            return lead
        if request.stage not in _LEAD_MOVES[lead.stage]:
            raise Conflict(f"a lead cannot move from {lead.stage} to {request.stage}",
                           reason="INVALID_STAGE_TRANSITION", field="stage",
                           details={"from": lead.stage, "to": request.stage,
                                    "allowed": sorted(_LEAD_MOVES[lead.stage])})
        lead.stage = request.stage
        return lead


class FakeReporting(reporting_pb2_grpc.ReportingServiceServicer):
    """Fixed KPIs; remembers the last request so the translation can be checked."""

    def __init__(self) -> None:
        self.last: reporting_pb2.GetKpisRequest | None = None

    async def GetKpis(self, request, context):
        self.last = request
        return reporting_pb2.Kpis(orders=4, revenue_fen=40_000, aov_fen=10_000, buyers=3, repeat_buyers=1,
                                  repurchase_rate=1 / 3, new_members=2)


# The operators of API.md's rule language; the fake evaluates only = != in not_in contains and exists.
_RULE_OPS = frozenset({"=", "!=", ">", ">=", "<", "<=", "in", "not_in", "contains", "contains_any", "exists"})


def _rule_problems(rule: Any, path: str = "rule") -> list[dict[str, str]]:
    """Every problem of a rule, as the campaigns service lists them in ``field_errors`` (a subset of its checks)."""
    if not isinstance(rule, dict):
        return [{"field": path, "message": "must be a group or a condition"}]
    for group in ("all", "any"):
        if group in rule:
            if not isinstance(rule[group], list) or not rule[group]:
                return [{"field": f"{path}.{group}", "message": "must be a non-empty list of rules"}]
            return [p for i, child in enumerate(rule[group]) for p in _rule_problems(child, f"{path}.{group}[{i}]")]
    if "not" in rule:
        return _rule_problems(rule["not"], f"{path}.not")
    problems = []
    if not isinstance(rule.get("field"), str):
        problems.append({"field": f"{path}.field", "message": "must name a member field"})
    if rule.get("op") not in _RULE_OPS:
        problems.append({"field": f"{path}.op", "message": f"unknown operator {rule.get('op')!r}"})
    return problems


def _selects(rule: dict[str, Any], facts: dict[str, Any]) -> bool:
    if "all" in rule:
        return all(_selects(child, facts) for child in rule["all"])
    if "any" in rule:
        return any(_selects(child, facts) for child in rule["any"])
    if "not" in rule:
        return not _selects(rule["not"], facts)
    op, value = rule["op"], rule.get("value")
    if rule["field"] not in facts:
        return False  # a comparison on a fact the member lacks is false
    fact = facts[rule["field"]]
    return {"=": lambda: fact == value, "!=": lambda: fact != value, "in": lambda: fact in value,
            "not_in": lambda: fact not in value, "contains": lambda: value in fact,
            "exists": lambda: True}.get(op, lambda: False)()


_CHANNEL_COST_FEN = {"sms": 5, "wechat": 0, "email": 0}  # the service's default price per message
NEXT_RUN = Timestamp(seconds=1_800_000_000)  # a journey's next run, as the fake answers it: 2027-01-15T08:00:00Z


class FakeCampaigns(campaigns_pb2_grpc.CampaignsServiceServicer):
    """Segments and campaigns over a fixed audience (brand A: m-a1 and m-a3 of store-a1, m-a2 of store-a2;
    brand B: m-b1).

    Checks rules like the service (an unknown operator → INVALID_ARGUMENT with every problem in ``field_errors``),
    refuses channels like it (push is not available; one not in ``channels`` is not configured), honours the store
    scope, and remembers every request so tests can see what the gateway sent. Activation freezes the segment's
    members within the campaign's stores, once; stats count ``outcomes[campaign_id]`` (set by a test: sent,
    failed, suppressed_*, conversions, converted_members, revenue_fen) and the rest of the audience as pending.

    Journeys are kept as created (active, next run at ``NEXT_RUN``, no runs); their extra rule is checked like a
    segment's, its problems named from ``journey_rule_place`` (``rule``, as the service names a segment's); pausing
    clears ``next_run_at``, resuming sets it again; stats count ``outcomes[journey_id]`` over
    ``journey_audience[journey_id]`` (set by a test), with no ``campaign_id`` (the runs are no one campaign)."""

    def __init__(self) -> None:
        # (member id, the facts a rule can test) per brand, in the order a selection lists them.
        self.audience: dict[str, list[tuple[str, dict[str, Any]]]] = {
            BRAND_A: [("m-a1", {"store_id": "store-a1", "tags": ["vip"], "tier": "gold"}),
                      ("m-a2", {"store_id": "store-a2", "tags": ["vip"]}),
                      ("m-a3", {"store_id": "store-a1", "tags": []})],
            BRAND_B: [("m-b1", {"store_id": "store-b1", "tags": ["vip"]})],
        }
        self.segments: dict[str, campaigns_pb2.Segment] = {}
        self.campaigns: dict[str, campaigns_pb2.Campaign] = {}
        self.channels = {"sms", "wechat", "email"}  # the channels "this deployment" has providers for
        self.activated_by: dict[str, str] = {}
        self.outcomes: dict[str, dict[str, int]] = {}
        self.requests: list[Any] = []  # every request, in order
        self.journeys: dict[str, campaigns_pb2.Journey] = {}
        self.journey_audience: dict[str, int] = {}
        self.journey_rule_place = "rule"

    @staticmethod
    def _rule(rule_json: str, field: str = "rule_json", place: str = "rule") -> Any:
        try:
            rule = json.loads(rule_json)
        except ValueError:
            raise InvalidArgument(f"{field} is not JSON", field=field) from None
        problems = _rule_problems(rule, place)
        if problems:
            raise InvalidArgument(f"the segment rule is invalid: {problems[0]['message']}", reason="INVALID_RULE",
                                  field=problems[0]["field"], details={"field_errors": problems})
        return rule

    def _select(self, brand_id: str, rule_json: str, scope: campaigns_pb2.StoreScope | None) -> list[str]:
        rule = self._rule(rule_json)
        return [member_id for member_id, facts in self.audience.get(brand_id, [])
                if (scope is None or facts["store_id"] in scope.store_ids) and _selects(rule, facts)]

    @staticmethod
    def _scope(request: Any) -> campaigns_pb2.StoreScope | None:
        return request.scope if request.HasField("scope") else None

    def _visible(self, segment: campaigns_pb2.Segment, request: Any) -> bool:
        scope = self._scope(request)
        return segment.brand_id == request.brand_id and (
            scope is None or (bool(segment.store_ids) and set(segment.store_ids) <= set(scope.store_ids)))

    async def PreviewSegment(self, request, context):
        self.requests.append(request)
        selected = self._select(request.brand_id, request.rule_json, self._scope(request))
        return campaigns_pb2.SegmentPreview(count=len(selected), sample_member_ids=selected[:request.sample_size or 20])

    async def CreateSegment(self, request, context):
        self.requests.append(request)
        scope = self._scope(request)
        selected = self._select(request.brand_id, request.rule_json, scope)
        segment = campaigns_pb2.Segment(
            id=_new_id("seg"), brand_id=request.brand_id, name=request.name,
            rule_json=json.dumps(json.loads(request.rule_json), sort_keys=True, separators=(",", ":")),
            store_ids=scope.store_ids if scope is not None else [], created_by=request.created_by, created_at=_now(),
            member_count=len(selected),
        )
        self.segments[segment.id] = segment
        return segment

    async def GetSegment(self, request, context):
        self.requests.append(request)
        segment = self.segments.get(request.segment_id)
        if segment is None or not self._visible(segment, request):
            raise NotFound("segment not found", reason="SEGMENT_NOT_FOUND", field="segment_id")
        return segment

    async def ListSegments(self, request, context):
        self.requests.append(request)
        return campaigns_pb2.ListSegmentsResponse(**self._page(self.segments.values(), request))

    def _page(self, records: Any, request: Any) -> dict[str, Any]:
        """The visible records newest first, from ``request.cursor`` (an offset) for ``request.limit``."""
        found = [r for r in reversed(list(records)) if self._visible(r, request)]
        start = int(request.cursor or 0)
        end = start + (request.limit or 50)
        return {"items": found[start:end], "next_cursor": str(end) if end < len(found) else ""}

    def _campaign(self, request: Any) -> campaigns_pb2.Campaign:
        campaign = self.campaigns.get(request.campaign_id)
        if campaign is None or not self._visible(campaign, request):
            raise NotFound("campaign not found", reason="CAMPAIGN_NOT_FOUND", field="campaign_id")
        return campaign

    def _check_channel(self, channel: str) -> None:
        if channel == "push":
            raise InvalidArgument("the push channel is not available yet", reason="INVALID_CAMPAIGN", field="channel")
        if channel not in self.channels:
            raise InvalidArgument(f"the {channel} channel is not configured in this deployment",
                                  reason="INVALID_CAMPAIGN", field="channel")

    async def CreateCampaign(self, request, context):
        self.requests.append(request)
        self._check_channel(request.channel)
        segment = self.segments.get(request.segment_id)
        if segment is None or not self._visible(segment, request):
            raise NotFound("segment not found", reason="SEGMENT_NOT_FOUND", field="segment_id")
        scope = self._scope(request)
        campaign = campaigns_pb2.Campaign(
            id=_new_id("cmp"), brand_id=request.brand_id, name=request.name, segment_id=segment.id,
            channel=request.channel, content=request.content, status="draft",
            attribution_days=request.attribution_days or 7,
            cost_per_message_fen=request.cost_per_message_fen or _CHANNEL_COST_FEN[request.channel],
            store_ids=scope.store_ids if scope is not None else [], created_by=request.created_by, created_at=_now(),
        )
        if request.HasField("send_at"):
            campaign.send_at.CopyFrom(request.send_at)
        self.campaigns[campaign.id] = campaign
        return campaign

    async def GetCampaign(self, request, context):
        self.requests.append(request)
        return self._campaign(request)

    async def ListCampaigns(self, request, context):
        self.requests.append(request)
        return campaigns_pb2.ListCampaignsResponse(**self._page(self.campaigns.values(), request))

    async def ActivateCampaign(self, request, context):
        self.requests.append(request)
        campaign = self._campaign(request)
        if campaign.status != "draft":
            return campaign  # activated before: unchanged
        segment = self.segments[campaign.segment_id]
        stores = campaigns_pb2.StoreScope(store_ids=campaign.store_ids) if campaign.store_ids else None
        campaign.audience = len(self._select(campaign.brand_id, segment.rule_json, stores))
        campaign.status = "active"
        campaign.activated_at.CopyFrom(_now())
        self.activated_by[campaign.id] = request.activated_by
        return campaign

    async def GetCampaignStats(self, request, context):
        self.requests.append(request)
        campaign = self._campaign(request)
        return self._stats(campaign, campaign.audience)

    def _stats(self, record: Any, audience: int) -> campaigns_pb2.CampaignStats:
        """A campaign's or a journey's stats: ``outcomes[record.id]``, the rest of ``audience`` pending."""
        counts = {"sent": 0, "failed": 0, "suppressed_no_consent": 0, "suppressed_frequency_cap": 0,
                  "conversions": 0, "converted_members": 0, "revenue_fen": 0, **self.outcomes.get(record.id, {})}
        settled = sum(counts[k] for k in ("sent", "failed", "suppressed_no_consent", "suppressed_frequency_cap"))
        cost = counts["sent"] * record.cost_per_message_fen
        return campaigns_pb2.CampaignStats(
            campaign_id=record.id, status=record.status, audience=audience, pending=audience - settled, cost_fen=cost,
            roi=(counts["revenue_fen"] - cost) / cost if cost else 0.0,
            conversion_rate=counts["converted_members"] / counts["sent"] if counts["sent"] else 0.0, **counts,
        )

    # --- journeys ---

    def _journey(self, request: Any) -> campaigns_pb2.Journey:
        journey = self.journeys.get(request.journey_id)
        if journey is None or not self._visible(journey, request):
            raise NotFound("journey not found", reason="JOURNEY_NOT_FOUND", field="journey_id")
        return journey

    async def CreateJourney(self, request, context):
        self.requests.append(request)
        extra_rule = (self._rule(request.extra_rule_json, "extra_rule_json", self.journey_rule_place)
                      if request.extra_rule_json else None)
        self._check_channel(request.channel)
        scope = self._scope(request)
        journey = campaigns_pb2.Journey(
            id=_new_id("jny"), brand_id=request.brand_id, name=request.name, trigger=request.trigger,
            days=request.days, segment_id=_new_id("seg"), channel=request.channel, content=request.content,
            extra_rule_json=json.dumps(extra_rule, sort_keys=True, separators=(",", ":")) if extra_rule else "",
            status="active", attribution_days=request.attribution_days or 7,
            cost_per_message_fen=request.cost_per_message_fen or _CHANNEL_COST_FEN[request.channel],
            store_ids=scope.store_ids if scope is not None else [], created_by=request.created_by, created_at=_now(),
            next_run_at=NEXT_RUN,
        )
        self.journeys[journey.id] = journey
        return journey

    async def GetJourney(self, request, context):
        self.requests.append(request)
        return self._journey(request)

    async def ListJourneys(self, request, context):
        self.requests.append(request)
        return campaigns_pb2.ListJourneysResponse(**self._page(self.journeys.values(), request))

    async def SetJourneyStatus(self, request, context):
        self.requests.append(request)
        journey = self._journey(request)
        if request.status not in ("active", "paused"):
            raise InvalidArgument("status must be active or paused", field="status")
        journey.status = request.status
        if request.status == "paused":
            journey.ClearField("next_run_at")
        else:
            journey.next_run_at.CopyFrom(NEXT_RUN)
        return journey

    async def GetJourneyStats(self, request, context):
        self.requests.append(request)
        journey = self._journey(request)
        stats = self._stats(journey, self.journey_audience.get(journey.id, 0))
        stats.campaign_id = ""  # the runs added up are no one campaign
        return stats


class Backends:
    """The five fake services, each on its own real gRPC server; any one can be stopped."""

    def __init__(self) -> None:
        self.members = FakeMembers()
        self.loyalty = FakeLoyalty()
        self.leads = FakeLeads()
        self.reporting = FakeReporting()
        self.campaigns = FakeCampaigns()
        self.addrs: dict[str, str] = {}
        self._stacks: dict[str, contextlib.AsyncExitStack] = {}

    def _services(self) -> dict[str, Service]:
        wiring = {
            "members": (members_pb2_grpc.add_MembersServiceServicer_to_server, self.members,
                        _full_name(members_pb2, "MembersService")),
            "loyalty": (loyalty_pb2_grpc.add_LoyaltyServiceServicer_to_server, self.loyalty,
                        _full_name(loyalty_pb2, "LoyaltyService")),
            "campaigns": (campaigns_pb2_grpc.add_CampaignsServiceServicer_to_server, self.campaigns,
                          _full_name(campaigns_pb2, "CampaignsService")),
            "leads": (leads_pb2_grpc.add_LeadsServiceServicer_to_server, self.leads,
                      _full_name(leads_pb2, "LeadsService")),
            "reporting": (reporting_pb2_grpc.add_ReportingServiceServicer_to_server, self.reporting,
                          _full_name(reporting_pb2, "ReportingService")),
        }
        return {name: Service(name, [servicer]) for name, servicer in wiring.items()}

    async def start(self) -> None:
        for name, service in self._services().items():
            stack = contextlib.AsyncExitStack()
            settings = ServiceSettings(service_name=name, grpc_port=0, shutdown_grace_seconds=0.1)
            self.addrs[name] = await stack.enter_async_context(serving(service, settings))
            self._stacks[name] = stack

    async def stop(self, name: str) -> None:
        await self._stacks.pop(name).aclose()

    async def stop_all(self) -> None:
        for name in list(self._stacks):
            await self.stop(name)


@pytest.fixture
async def backends() -> AsyncIterator[Backends]:
    """Fresh fakes per test: no test sees another's orders or members."""
    fakes = Backends()
    await fakes.start()
    try:
        yield fakes
    finally:
        await fakes.stop_all()


@pytest.fixture
def settings(backends: Backends) -> GatewaySettings:
    return GatewaySettings(
        env="test",
        jwt_secret=JWT_SECRET,
        rpc_timeout_seconds=2.0,
        readiness_timeout_seconds=0.5,
        **{f"{name}_addr": addr for name, addr in backends.addrs.items()},
    )


@pytest.fixture
async def client(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app, with its lifespan (gRPC channels) running."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer(JWT_SECRET, 3600)


@pytest.fixture
def as_role(issuer: TokenIssuer) -> Callable[..., dict[str, str]]:
    """``as_role("clerk", store_ids=("store-a1",))`` → Authorization headers."""

    def make(role: str, brand_id: str = BRAND_A, store_ids: tuple[str, ...] = ()) -> dict[str, str]:
        token = issuer.issue(staff_id=f"staff-{role}", role=role, brand_id=brand_id, store_ids=store_ids)
        return {"Authorization": f"Bearer {token}"}

    return make
