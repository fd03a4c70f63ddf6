import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StoreScope(_message.Message):
    __slots__ = ("store_ids",)
    STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    store_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, store_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetAudienceMemberRequest(_message.Message):
    __slots__ = ("brand_id", "member_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ...) -> None: ...

class AudienceMember(_message.Message):
    __slots__ = ("member_id", "store_id", "order_count", "total_spend_fen", "last_purchase_at", "registered_at", "tags", "tier", "points_balance", "spend_90d_fen")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SPEND_FEN_FIELD_NUMBER: _ClassVar[int]
    LAST_PURCHASE_AT_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    POINTS_BALANCE_FIELD_NUMBER: _ClassVar[int]
    SPEND_90D_FEN_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    store_id: str
    order_count: int
    total_spend_fen: int
    last_purchase_at: _timestamp_pb2.Timestamp
    registered_at: _timestamp_pb2.Timestamp
    tags: _containers.RepeatedScalarFieldContainer[str]
    tier: str
    points_balance: int
    spend_90d_fen: int
    def __init__(self, member_id: _Optional[str] = ..., store_id: _Optional[str] = ..., order_count: _Optional[int] = ..., total_spend_fen: _Optional[int] = ..., last_purchase_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., registered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tags: _Optional[_Iterable[str]] = ..., tier: _Optional[str] = ..., points_balance: _Optional[int] = ..., spend_90d_fen: _Optional[int] = ...) -> None: ...

class PreviewSegmentRequest(_message.Message):
    __slots__ = ("brand_id", "rule_json", "scope", "sample_size")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_JSON_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_SIZE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    rule_json: str
    scope: StoreScope
    sample_size: int
    def __init__(self, brand_id: _Optional[str] = ..., rule_json: _Optional[str] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ..., sample_size: _Optional[int] = ...) -> None: ...

class SegmentPreview(_message.Message):
    __slots__ = ("count", "sample_member_ids")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_MEMBER_IDS_FIELD_NUMBER: _ClassVar[int]
    count: int
    sample_member_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, count: _Optional[int] = ..., sample_member_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateSegmentRequest(_message.Message):
    __slots__ = ("brand_id", "name", "rule_json", "scope", "created_by")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RULE_JSON_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    name: str
    rule_json: str
    scope: StoreScope
    created_by: str
    def __init__(self, brand_id: _Optional[str] = ..., name: _Optional[str] = ..., rule_json: _Optional[str] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ..., created_by: _Optional[str] = ...) -> None: ...

class Segment(_message.Message):
    __slots__ = ("id", "brand_id", "name", "rule_json", "store_ids", "created_by", "created_at", "member_count")
    ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RULE_JSON_FIELD_NUMBER: _ClassVar[int]
    STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    MEMBER_COUNT_FIELD_NUMBER: _ClassVar[int]
    id: str
    brand_id: str
    name: str
    rule_json: str
    store_ids: _containers.RepeatedScalarFieldContainer[str]
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    member_count: int
    def __init__(self, id: _Optional[str] = ..., brand_id: _Optional[str] = ..., name: _Optional[str] = ..., rule_json: _Optional[str] = ..., store_ids: _Optional[_Iterable[str]] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., member_count: _Optional[int] = ...) -> None: ...

class GetSegmentRequest(_message.Message):
    __slots__ = ("brand_id", "segment_id", "scope")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    segment_id: str
    scope: StoreScope
    def __init__(self, brand_id: _Optional[str] = ..., segment_id: _Optional[str] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ...) -> None: ...

class ListSegmentsRequest(_message.Message):
    __slots__ = ("brand_id", "scope", "cursor", "limit")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    scope: StoreScope
    cursor: str
    limit: int
    def __init__(self, brand_id: _Optional[str] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ..., cursor: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListSegmentsResponse(_message.Message):
    __slots__ = ("items", "next_cursor")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Segment]
    next_cursor: str
    def __init__(self, items: _Optional[_Iterable[_Union[Segment, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class CampaignContent(_message.Message):
    __slots__ = ("text", "subject", "template_id", "params", "page")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    text: str
    subject: str
    template_id: str
    params: _containers.ScalarMap[str, str]
    page: str
    def __init__(self, text: _Optional[str] = ..., subject: _Optional[str] = ..., template_id: _Optional[str] = ..., params: _Optional[_Mapping[str, str]] = ..., page: _Optional[str] = ...) -> None: ...

class CreateCampaignRequest(_message.Message):
    __slots__ = ("brand_id", "name", "segment_id", "channel", "content", "send_at", "attribution_days", "cost_per_message_fen", "scope", "created_by")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SEND_AT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_DAYS_FIELD_NUMBER: _ClassVar[int]
    COST_PER_MESSAGE_FEN_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    name: str
    segment_id: str
    channel: str
    content: CampaignContent
    send_at: _timestamp_pb2.Timestamp
    attribution_days: int
    cost_per_message_fen: int
    scope: StoreScope
    created_by: str
    def __init__(self, brand_id: _Optional[str] = ..., name: _Optional[str] = ..., segment_id: _Optional[str] = ..., channel: _Optional[str] = ..., content: _Optional[_Union[CampaignContent, _Mapping]] = ..., send_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attribution_days: _Optional[int] = ..., cost_per_message_fen: _Optional[int] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ..., created_by: _Optional[str] = ...) -> None: ...

class Campaign(_message.Message):
    __slots__ = ("id", "brand_id", "name", "segment_id", "channel", "content", "status", "send_at", "attribution_days", "cost_per_message_fen", "store_ids", "created_by", "created_at", "activated_at", "audience")
    ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SEND_AT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_DAYS_FIELD_NUMBER: _ClassVar[int]
    COST_PER_MESSAGE_FEN_FIELD_NUMBER: _ClassVar[int]
    STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_AT_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    brand_id: str
    name: str
    segment_id: str
    channel: str
    content: CampaignContent
    status: str
    send_at: _timestamp_pb2.Timestamp
    attribution_days: int
    cost_per_message_fen: int
    store_ids: _containers.RepeatedScalarFieldContainer[str]
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    activated_at: _timestamp_pb2.Timestamp
    audience: int
    def __init__(self, id: _Optional[str] = ..., brand_id: _Optional[str] = ..., name: _Optional[str] = ..., segment_id: _Optional[str] = ..., channel: _Optional[str] = ..., content: _Optional[_Union[CampaignContent, _Mapping]] = ..., status: _Optional[str] = ..., send_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attribution_days: _Optional[int] = ..., cost_per_message_fen: _Optional[int] = ..., store_ids: _Optional[_Iterable[str]] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., activated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., audience: _Optional[int] = ...) -> None: ...

class GetCampaignRequest(_message.Message):
    __slots__ = ("brand_id", "campaign_id", "scope")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    campaign_id: str
    scope: StoreScope
    def __init__(self, brand_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ...) -> None: ...

class ListCampaignsRequest(_message.Message):
    __slots__ = ("brand_id", "scope", "cursor", "limit")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    scope: StoreScope
    cursor: str
    limit: int
    def __init__(self, brand_id: _Optional[str] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ..., cursor: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListCampaignsResponse(_message.Message):
    __slots__ = ("items", "next_cursor")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Campaign]
    next_cursor: str
    def __init__(self, items: _Optional[_Iterable[_Union[Campaign, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class ActivateCampaignRequest(_message.Message):
    __slots__ = ("brand_id", "campaign_id", "scope", "activated_by")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_BY_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    campaign_id: str
    scope: StoreScope
    activated_by: str
    def __init__(self, brand_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ..., activated_by: _Optional[str] = ...) -> None: ...

class GetCampaignStatsRequest(_message.Message):
    __slots__ = ("brand_id", "campaign_id", "scope")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    campaign_id: str
    scope: StoreScope
    def __init__(self, brand_id: _Optional[str] = ..., campaign_id: _Optional[str] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ...) -> None: ...

class CampaignStats(_message.Message):
    __slots__ = ("campaign_id", "status", "audience", "pending", "sent", "failed", "suppressed_no_consent", "suppressed_frequency_cap", "conversions", "converted_members", "revenue_fen", "cost_fen", "roi", "conversion_rate")
    CAMPAIGN_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_NO_CONSENT_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FREQUENCY_CAP_FIELD_NUMBER: _ClassVar[int]
    CONVERSIONS_FIELD_NUMBER: _ClassVar[int]
    CONVERTED_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FEN_FIELD_NUMBER: _ClassVar[int]
    COST_FEN_FIELD_NUMBER: _ClassVar[int]
    ROI_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_RATE_FIELD_NUMBER: _ClassVar[int]
    campaign_id: str
    status: str
    audience: int
    pending: int
    sent: int
    failed: int
    suppressed_no_consent: int
    suppressed_frequency_cap: int
    conversions: int
    converted_members: int
    revenue_fen: int
    cost_fen: int
    roi: float
    conversion_rate: float
    def __init__(self, campaign_id: _Optional[str] = ..., status: _Optional[str] = ..., audience: _Optional[int] = ..., pending: _Optional[int] = ..., sent: _Optional[int] = ..., failed: _Optional[int] = ..., suppressed_no_consent: _Optional[int] = ..., suppressed_frequency_cap: _Optional[int] = ..., conversions: _Optional[int] = ..., converted_members: _Optional[int] = ..., revenue_fen: _Optional[int] = ..., cost_fen: _Optional[int] = ..., roi: _Optional[float] = ..., conversion_rate: _Optional[float] = ...) -> None: ...

class CreateJourneyRequest(_message.Message):
    __slots__ = ("brand_id", "name", "trigger", "days", "extra_rule_json", "channel", "content", "attribution_days", "cost_per_message_fen", "scope", "created_by")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_RULE_JSON_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_DAYS_FIELD_NUMBER: _ClassVar[int]
    COST_PER_MESSAGE_FEN_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    name: str
    trigger: str
    days: int
    extra_rule_json: str
    channel: str
    content: CampaignContent
    attribution_days: int
    cost_per_message_fen: int
    scope: StoreScope
    created_by: str
    def __init__(self, brand_id: _Optional[str] = ..., name: _Optional[str] = ..., trigger: _Optional[str] = ..., days: _Optional[int] = ..., extra_rule_json: _Optional[str] = ..., channel: _Optional[str] = ..., content: _Optional[_Union[CampaignContent, _Mapping]] = ..., attribution_days: _Optional[int] = ..., cost_per_message_fen: _Optional[int] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ..., created_by: _Optional[str] = ...) -> None: ...

class Journey(_message.Message):
    __slots__ = ("id", "brand_id", "name", "trigger", "days", "extra_rule_json", "segment_id", "channel", "content", "status", "attribution_days", "cost_per_message_fen", "store_ids", "created_by", "created_at", "next_run_at", "runs")
    ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    EXTRA_RULE_JSON_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_DAYS_FIELD_NUMBER: _ClassVar[int]
    COST_PER_MESSAGE_FEN_FIELD_NUMBER: _ClassVar[int]
    STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUN_AT_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    id: str
    brand_id: str
    name: str
    trigger: str
    days: int
    extra_rule_json: str
    segment_id: str
    channel: str
    content: CampaignContent
    status: str
    attribution_days: int
    cost_per_message_fen: int
    store_ids: _containers.RepeatedScalarFieldContainer[str]
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    next_run_at: _timestamp_pb2.Timestamp
    runs: int
    def __init__(self, id: _Optional[str] = ..., brand_id: _Optional[str] = ..., name: _Optional[str] = ..., trigger: _Optional[str] = ..., days: _Optional[int] = ..., extra_rule_json: _Optional[str] = ..., segment_id: _Optional[str] = ..., channel: _Optional[str] = ..., content: _Optional[_Union[CampaignContent, _Mapping]] = ..., status: _Optional[str] = ..., attribution_days: _Optional[int] = ..., cost_per_message_fen: _Optional[int] = ..., store_ids: _Optional[_Iterable[str]] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_run_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., runs: _Optional[int] = ...) -> None: ...

class GetJourneyRequest(_message.Message):
    __slots__ = ("brand_id", "journey_id", "scope")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    JOURNEY_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    journey_id: str
    scope: StoreScope
    def __init__(self, brand_id: _Optional[str] = ..., journey_id: _Optional[str] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ...) -> None: ...

class ListJourneysRequest(_message.Message):
    __slots__ = ("brand_id", "scope", "cursor", "limit")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    scope: StoreScope
    cursor: str
    limit: int
    def __init__(self, brand_id: _Optional[str] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ..., cursor: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListJourneysResponse(_message.Message):
    __slots__ = ("items", "next_cursor")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Journey]
    next_cursor: str
    def __init__(self, items: _Optional[_Iterable[_Union[Journey, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class SetJourneyStatusRequest(_message.Message):
    __slots__ = ("brand_id", "journey_id", "status", "scope")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    JOURNEY_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    journey_id: str
    status: str
    scope: StoreScope
    def __init__(self, brand_id: _Optional[str] = ..., journey_id: _Optional[str] = ..., status: _Optional[str] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ...) -> None: ...

class GetJourneyStatsRequest(_message.Message):
    __slots__ = ("brand_id", "journey_id", "scope")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    JOURNEY_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    journey_id: str
    scope: StoreScope
    def __init__(self, brand_id: _Optional[str] = ..., journey_id: _Optional[str] = ..., scope: _Optional[_Union[StoreScope, _Mapping]] = ...) -> None: ...
