import datetime

from crm.common.v1 import types_pb2 as _types_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PiiAccess(_message.Message):
    __slots__ = ("actor_id", "mask", "purpose")
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    MASK_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    actor_id: str
    mask: bool
    purpose: str
    def __init__(self, actor_id: _Optional[str] = ..., mask: _Optional[bool] = ..., purpose: _Optional[str] = ...) -> None: ...

class Brand(_message.Message):
    __slots__ = ("id", "code", "name", "timezone", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    code: str
    name: str
    timezone: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., code: _Optional[str] = ..., name: _Optional[str] = ..., timezone: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateBrandRequest(_message.Message):
    __slots__ = ("code", "name", "timezone")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    timezone: str
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., timezone: _Optional[str] = ...) -> None: ...

class GetBrandRequest(_message.Message):
    __slots__ = ("brand_id",)
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    def __init__(self, brand_id: _Optional[str] = ...) -> None: ...

class ListBrandsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListBrandsResponse(_message.Message):
    __slots__ = ("brands",)
    BRANDS_FIELD_NUMBER: _ClassVar[int]
    brands: _containers.RepeatedCompositeFieldContainer[Brand]
    def __init__(self, brands: _Optional[_Iterable[_Union[Brand, _Mapping]]] = ...) -> None: ...

class Store(_message.Message):
    __slots__ = ("id", "brand_id", "code", "name", "city", "location", "open", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    brand_id: str
    code: str
    name: str
    city: str
    location: _types_pb2.GeoPoint
    open: bool
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., brand_id: _Optional[str] = ..., code: _Optional[str] = ..., name: _Optional[str] = ..., city: _Optional[str] = ..., location: _Optional[_Union[_types_pb2.GeoPoint, _Mapping]] = ..., open: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateStoreRequest(_message.Message):
    __slots__ = ("brand_id", "code", "name", "city", "location")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    code: str
    name: str
    city: str
    location: _types_pb2.GeoPoint
    def __init__(self, brand_id: _Optional[str] = ..., code: _Optional[str] = ..., name: _Optional[str] = ..., city: _Optional[str] = ..., location: _Optional[_Union[_types_pb2.GeoPoint, _Mapping]] = ...) -> None: ...

class GetStoreRequest(_message.Message):
    __slots__ = ("brand_id", "store_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    store_id: str
    def __init__(self, brand_id: _Optional[str] = ..., store_id: _Optional[str] = ...) -> None: ...

class ListStoresRequest(_message.Message):
    __slots__ = ("brand_id",)
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    def __init__(self, brand_id: _Optional[str] = ...) -> None: ...

class ListStoresResponse(_message.Message):
    __slots__ = ("stores",)
    STORES_FIELD_NUMBER: _ClassVar[int]
    stores: _containers.RepeatedCompositeFieldContainer[Store]
    def __init__(self, stores: _Optional[_Iterable[_Union[Store, _Mapping]]] = ...) -> None: ...

class Staff(_message.Message):
    __slots__ = ("id", "brand_id", "username", "display_name", "role", "store_ids", "active", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    brand_id: str
    username: str
    display_name: str
    role: str
    store_ids: _containers.RepeatedScalarFieldContainer[str]
    active: bool
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., brand_id: _Optional[str] = ..., username: _Optional[str] = ..., display_name: _Optional[str] = ..., role: _Optional[str] = ..., store_ids: _Optional[_Iterable[str]] = ..., active: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateStaffRequest(_message.Message):
    __slots__ = ("brand_id", "username", "password", "display_name", "role", "store_ids")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    username: str
    password: str
    display_name: str
    role: str
    store_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, brand_id: _Optional[str] = ..., username: _Optional[str] = ..., password: _Optional[str] = ..., display_name: _Optional[str] = ..., role: _Optional[str] = ..., store_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListStaffRequest(_message.Message):
    __slots__ = ("brand_id", "store_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    store_id: str
    def __init__(self, brand_id: _Optional[str] = ..., store_id: _Optional[str] = ...) -> None: ...

class ListStaffResponse(_message.Message):
    __slots__ = ("staff",)
    STAFF_FIELD_NUMBER: _ClassVar[int]
    staff: _containers.RepeatedCompositeFieldContainer[Staff]
    def __init__(self, staff: _Optional[_Iterable[_Union[Staff, _Mapping]]] = ...) -> None: ...

class VerifyStaffCredentialsRequest(_message.Message):
    __slots__ = ("username", "password")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    username: str
    password: str
    def __init__(self, username: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class Member(_message.Message):
    __slots__ = ("id", "brand_id", "phone", "name", "gender", "birthday", "store_id", "guide_id", "channel", "attributes", "consents", "registered_at", "card_no", "wechat_union_id", "wechat_open_ids", "tags", "auto_tags", "preferred_channel", "consent_details", "facts", "masked", "updated_at")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ConsentsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bool
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bool] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    BIRTHDAY_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    GUIDE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CONSENTS_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    CARD_NO_FIELD_NUMBER: _ClassVar[int]
    WECHAT_UNION_ID_FIELD_NUMBER: _ClassVar[int]
    WECHAT_OPEN_IDS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    AUTO_TAGS_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONSENT_DETAILS_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    MASKED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    brand_id: str
    phone: str
    name: str
    gender: str
    birthday: str
    store_id: str
    guide_id: str
    channel: str
    attributes: _containers.ScalarMap[str, str]
    consents: _containers.ScalarMap[str, bool]
    registered_at: _timestamp_pb2.Timestamp
    card_no: str
    wechat_union_id: str
    wechat_open_ids: _containers.RepeatedScalarFieldContainer[str]
    tags: _containers.RepeatedScalarFieldContainer[str]
    auto_tags: _containers.RepeatedScalarFieldContainer[str]
    preferred_channel: str
    consent_details: _containers.RepeatedCompositeFieldContainer[Consent]
    facts: MemberFacts
    masked: bool
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., brand_id: _Optional[str] = ..., phone: _Optional[str] = ..., name: _Optional[str] = ..., gender: _Optional[str] = ..., birthday: _Optional[str] = ..., store_id: _Optional[str] = ..., guide_id: _Optional[str] = ..., channel: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ..., consents: _Optional[_Mapping[str, bool]] = ..., registered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., card_no: _Optional[str] = ..., wechat_union_id: _Optional[str] = ..., wechat_open_ids: _Optional[_Iterable[str]] = ..., tags: _Optional[_Iterable[str]] = ..., auto_tags: _Optional[_Iterable[str]] = ..., preferred_channel: _Optional[str] = ..., consent_details: _Optional[_Iterable[_Union[Consent, _Mapping]]] = ..., facts: _Optional[_Union[MemberFacts, _Mapping]] = ..., masked: _Optional[bool] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Consent(_message.Message):
    __slots__ = ("channel", "granted", "at", "source")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    channel: str
    granted: bool
    at: _timestamp_pb2.Timestamp
    source: str
    def __init__(self, channel: _Optional[str] = ..., granted: _Optional[bool] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ...) -> None: ...

class MemberFacts(_message.Message):
    __slots__ = ("order_count", "total_spend_fen", "last_order_at")
    ORDER_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SPEND_FEN_FIELD_NUMBER: _ClassVar[int]
    LAST_ORDER_AT_FIELD_NUMBER: _ClassVar[int]
    order_count: int
    total_spend_fen: int
    last_order_at: _timestamp_pb2.Timestamp
    def __init__(self, order_count: _Optional[int] = ..., total_spend_fen: _Optional[int] = ..., last_order_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RegisterMemberRequest(_message.Message):
    __slots__ = ("brand_id", "phone", "name", "gender", "birthday", "store_id", "guide_id", "channel", "attributes", "consents", "card_no", "wechat_union_id", "wechat_open_id", "tags", "preferred_channel", "access", "actor_id")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ConsentsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bool
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bool] = ...) -> None: ...
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    BIRTHDAY_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    GUIDE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CONSENTS_FIELD_NUMBER: _ClassVar[int]
    CARD_NO_FIELD_NUMBER: _ClassVar[int]
    WECHAT_UNION_ID_FIELD_NUMBER: _ClassVar[int]
    WECHAT_OPEN_ID_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    phone: str
    name: str
    gender: str
    birthday: str
    store_id: str
    guide_id: str
    channel: str
    attributes: _containers.ScalarMap[str, str]
    consents: _containers.ScalarMap[str, bool]
    card_no: str
    wechat_union_id: str
    wechat_open_id: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    preferred_channel: str
    access: PiiAccess
    actor_id: str
    def __init__(self, brand_id: _Optional[str] = ..., phone: _Optional[str] = ..., name: _Optional[str] = ..., gender: _Optional[str] = ..., birthday: _Optional[str] = ..., store_id: _Optional[str] = ..., guide_id: _Optional[str] = ..., channel: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ..., consents: _Optional[_Mapping[str, bool]] = ..., card_no: _Optional[str] = ..., wechat_union_id: _Optional[str] = ..., wechat_open_id: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., preferred_channel: _Optional[str] = ..., access: _Optional[_Union[PiiAccess, _Mapping]] = ..., actor_id: _Optional[str] = ...) -> None: ...

class GetMemberRequest(_message.Message):
    __slots__ = ("brand_id", "member_id", "access")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    access: PiiAccess
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., access: _Optional[_Union[PiiAccess, _Mapping]] = ...) -> None: ...

class FindMemberByPhoneRequest(_message.Message):
    __slots__ = ("brand_id", "phone", "access")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    phone: str
    access: PiiAccess
    def __init__(self, brand_id: _Optional[str] = ..., phone: _Optional[str] = ..., access: _Optional[_Union[PiiAccess, _Mapping]] = ...) -> None: ...

class SetStoreOpenRequest(_message.Message):
    __slots__ = ("brand_id", "store_id", "open", "transfer_to_store_id", "actor_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_TO_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    store_id: str
    open: bool
    transfer_to_store_id: str
    actor_id: str
    def __init__(self, brand_id: _Optional[str] = ..., store_id: _Optional[str] = ..., open: _Optional[bool] = ..., transfer_to_store_id: _Optional[str] = ..., actor_id: _Optional[str] = ...) -> None: ...

class DeactivateStaffRequest(_message.Message):
    __slots__ = ("brand_id", "staff_id", "to_guide_id", "actor_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    TO_GUIDE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    staff_id: str
    to_guide_id: str
    actor_id: str
    def __init__(self, brand_id: _Optional[str] = ..., staff_id: _Optional[str] = ..., to_guide_id: _Optional[str] = ..., actor_id: _Optional[str] = ...) -> None: ...

class DeactivateStaffResponse(_message.Message):
    __slots__ = ("staff", "moved", "transfer_id")
    STAFF_FIELD_NUMBER: _ClassVar[int]
    MOVED_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    staff: Staff
    moved: int
    transfer_id: str
    def __init__(self, staff: _Optional[_Union[Staff, _Mapping]] = ..., moved: _Optional[int] = ..., transfer_id: _Optional[str] = ...) -> None: ...

class FindMemberByIdentityRequest(_message.Message):
    __slots__ = ("brand_id", "kind", "value", "access")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    kind: str
    value: str
    access: PiiAccess
    def __init__(self, brand_id: _Optional[str] = ..., kind: _Optional[str] = ..., value: _Optional[str] = ..., access: _Optional[_Union[PiiAccess, _Mapping]] = ...) -> None: ...

class FindOrCreateMemberByWechatRequest(_message.Message):
    __slots__ = ("brand_id", "union_id", "open_id", "store_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    UNION_ID_FIELD_NUMBER: _ClassVar[int]
    OPEN_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    union_id: str
    open_id: str
    store_id: str
    def __init__(self, brand_id: _Optional[str] = ..., union_id: _Optional[str] = ..., open_id: _Optional[str] = ..., store_id: _Optional[str] = ...) -> None: ...

class FindOrCreateMemberByWechatResponse(_message.Message):
    __slots__ = ("member", "created")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    member: Member
    created: bool
    def __init__(self, member: _Optional[_Union[Member, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class MergeMembersRequest(_message.Message):
    __slots__ = ("brand_id", "survivor_member_id", "merged_member_id", "actor_id", "reason")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    SURVIVOR_MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    MERGED_MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    survivor_member_id: str
    merged_member_id: str
    actor_id: str
    reason: str
    def __init__(self, brand_id: _Optional[str] = ..., survivor_member_id: _Optional[str] = ..., merged_member_id: _Optional[str] = ..., actor_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class MergeMembersResponse(_message.Message):
    __slots__ = ("member", "merge_id")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    MERGE_ID_FIELD_NUMBER: _ClassVar[int]
    member: Member
    merge_id: str
    def __init__(self, member: _Optional[_Union[Member, _Mapping]] = ..., merge_id: _Optional[str] = ...) -> None: ...

class UpdateMemberRequest(_message.Message):
    __slots__ = ("brand_id", "member_id", "phone", "name", "gender", "birthday", "store_id", "guide_id", "card_no", "attributes", "remove_attributes", "preferred_channel", "actor_id", "access")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    BIRTHDAY_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    GUIDE_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_NO_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    REMOVE_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    phone: str
    name: str
    gender: str
    birthday: str
    store_id: str
    guide_id: str
    card_no: str
    attributes: _containers.ScalarMap[str, str]
    remove_attributes: _containers.RepeatedScalarFieldContainer[str]
    preferred_channel: str
    actor_id: str
    access: PiiAccess
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., phone: _Optional[str] = ..., name: _Optional[str] = ..., gender: _Optional[str] = ..., birthday: _Optional[str] = ..., store_id: _Optional[str] = ..., guide_id: _Optional[str] = ..., card_no: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ..., remove_attributes: _Optional[_Iterable[str]] = ..., preferred_channel: _Optional[str] = ..., actor_id: _Optional[str] = ..., access: _Optional[_Union[PiiAccess, _Mapping]] = ...) -> None: ...

class AttributeDefinition(_message.Message):
    __slots__ = ("name", "label", "type", "required", "options", "min", "max")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    name: str
    label: str
    type: str
    required: bool
    options: _containers.RepeatedScalarFieldContainer[str]
    min: float
    max: float
    def __init__(self, name: _Optional[str] = ..., label: _Optional[str] = ..., type: _Optional[str] = ..., required: _Optional[bool] = ..., options: _Optional[_Iterable[str]] = ..., min: _Optional[float] = ..., max: _Optional[float] = ...) -> None: ...

class AttributeDefinitions(_message.Message):
    __slots__ = ("brand_id", "definitions")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    DEFINITIONS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    definitions: _containers.RepeatedCompositeFieldContainer[AttributeDefinition]
    def __init__(self, brand_id: _Optional[str] = ..., definitions: _Optional[_Iterable[_Union[AttributeDefinition, _Mapping]]] = ...) -> None: ...

class GetAttributeDefinitionsRequest(_message.Message):
    __slots__ = ("brand_id",)
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    def __init__(self, brand_id: _Optional[str] = ...) -> None: ...

class PutAttributeDefinitionsRequest(_message.Message):
    __slots__ = ("brand_id", "definitions")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    DEFINITIONS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    definitions: _containers.RepeatedCompositeFieldContainer[AttributeDefinition]
    def __init__(self, brand_id: _Optional[str] = ..., definitions: _Optional[_Iterable[_Union[AttributeDefinition, _Mapping]]] = ...) -> None: ...

class ChangeTagsRequest(_message.Message):
    __slots__ = ("brand_id", "member_id", "add", "remove", "actor_id", "access")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ADD_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    add: _containers.RepeatedScalarFieldContainer[str]
    remove: _containers.RepeatedScalarFieldContainer[str]
    actor_id: str
    access: PiiAccess
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., add: _Optional[_Iterable[str]] = ..., remove: _Optional[_Iterable[str]] = ..., actor_id: _Optional[str] = ..., access: _Optional[_Union[PiiAccess, _Mapping]] = ...) -> None: ...

class SetConsentsRequest(_message.Message):
    __slots__ = ("brand_id", "member_id", "consents", "opt_out_all", "preferred_channel", "source", "access")
    class ConsentsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bool
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bool] = ...) -> None: ...
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    CONSENTS_FIELD_NUMBER: _ClassVar[int]
    OPT_OUT_ALL_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    consents: _containers.ScalarMap[str, bool]
    opt_out_all: bool
    preferred_channel: str
    source: str
    access: PiiAccess
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., consents: _Optional[_Mapping[str, bool]] = ..., opt_out_all: _Optional[bool] = ..., preferred_channel: _Optional[str] = ..., source: _Optional[str] = ..., access: _Optional[_Union[PiiAccess, _Mapping]] = ...) -> None: ...

class TimelineEntry(_message.Message):
    __slots__ = ("id", "member_id", "kind", "at", "summary", "actor_id", "data")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    member_id: str
    kind: str
    at: _timestamp_pb2.Timestamp
    summary: str
    actor_id: str
    data: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., member_id: _Optional[str] = ..., kind: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., summary: _Optional[str] = ..., actor_id: _Optional[str] = ..., data: _Optional[_Mapping[str, str]] = ...) -> None: ...

class AddMemberNoteRequest(_message.Message):
    __slots__ = ("brand_id", "member_id", "text", "actor_id", "kind")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    text: str
    actor_id: str
    kind: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., text: _Optional[str] = ..., actor_id: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class ListTimelineRequest(_message.Message):
    __slots__ = ("brand_id", "member_id", "cursor", "limit")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    cursor: str
    limit: int
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., cursor: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListTimelineResponse(_message.Message):
    __slots__ = ("entries", "next_cursor")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[TimelineEntry]
    next_cursor: str
    def __init__(self, entries: _Optional[_Iterable[_Union[TimelineEntry, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class TransferMembersRequest(_message.Message):
    __slots__ = ("brand_id", "transfer_id", "from_store_id", "from_guide_id", "to_store_id", "to_guide_id", "actor_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_GUIDE_ID_FIELD_NUMBER: _ClassVar[int]
    TO_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    TO_GUIDE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    transfer_id: str
    from_store_id: str
    from_guide_id: str
    to_store_id: str
    to_guide_id: str
    actor_id: str
    def __init__(self, brand_id: _Optional[str] = ..., transfer_id: _Optional[str] = ..., from_store_id: _Optional[str] = ..., from_guide_id: _Optional[str] = ..., to_store_id: _Optional[str] = ..., to_guide_id: _Optional[str] = ..., actor_id: _Optional[str] = ...) -> None: ...

class TransferMembersResponse(_message.Message):
    __slots__ = ("transfer_id", "moved", "replayed")
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    MOVED_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    transfer_id: str
    moved: int
    replayed: bool
    def __init__(self, transfer_id: _Optional[str] = ..., moved: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class SearchMembersRequest(_message.Message):
    __slots__ = ("brand_id", "phone", "card_no", "name_prefix", "tag", "store_ids", "guide_id", "registered_from", "registered_to", "cursor", "limit", "access")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    CARD_NO_FIELD_NUMBER: _ClassVar[int]
    NAME_PREFIX_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    GUIDE_ID_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_FROM_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_TO_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    phone: str
    card_no: str
    name_prefix: str
    tag: str
    store_ids: _containers.RepeatedScalarFieldContainer[str]
    guide_id: str
    registered_from: _timestamp_pb2.Timestamp
    registered_to: _timestamp_pb2.Timestamp
    cursor: str
    limit: int
    access: PiiAccess
    def __init__(self, brand_id: _Optional[str] = ..., phone: _Optional[str] = ..., card_no: _Optional[str] = ..., name_prefix: _Optional[str] = ..., tag: _Optional[str] = ..., store_ids: _Optional[_Iterable[str]] = ..., guide_id: _Optional[str] = ..., registered_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., registered_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cursor: _Optional[str] = ..., limit: _Optional[int] = ..., access: _Optional[_Union[PiiAccess, _Mapping]] = ...) -> None: ...

class SearchMembersResponse(_message.Message):
    __slots__ = ("members", "next_cursor")
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[Member]
    next_cursor: str
    def __init__(self, members: _Optional[_Iterable[_Union[Member, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class MemberImport(_message.Message):
    __slots__ = ("id", "brand_id", "status", "total", "imported", "failed", "skipped", "merged", "errors", "format", "created_at", "finished_at", "bytes")
    ID_FIELD_NUMBER: _ClassVar[int]
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    IMPORTED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    MERGED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    id: str
    brand_id: str
    status: str
    total: int
    imported: int
    failed: int
    skipped: int
    merged: int
    errors: _containers.RepeatedCompositeFieldContainer[ImportError]
    format: str
    created_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    bytes: int
    def __init__(self, id: _Optional[str] = ..., brand_id: _Optional[str] = ..., status: _Optional[str] = ..., total: _Optional[int] = ..., imported: _Optional[int] = ..., failed: _Optional[int] = ..., skipped: _Optional[int] = ..., merged: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[ImportError, _Mapping]]] = ..., format: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bytes: _Optional[int] = ...) -> None: ...

class ImportError(_message.Message):
    __slots__ = ("row", "field", "message")
    ROW_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    row: int
    field: str
    message: str
    def __init__(self, row: _Optional[int] = ..., field: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class CreateMemberImportRequest(_message.Message):
    __slots__ = ("brand_id", "format", "mapping", "on_existing", "actor_id", "default_store_id")
    class MappingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    ON_EXISTING_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    format: str
    mapping: _containers.ScalarMap[str, str]
    on_existing: str
    actor_id: str
    default_store_id: str
    def __init__(self, brand_id: _Optional[str] = ..., format: _Optional[str] = ..., mapping: _Optional[_Mapping[str, str]] = ..., on_existing: _Optional[str] = ..., actor_id: _Optional[str] = ..., default_store_id: _Optional[str] = ...) -> None: ...

class AppendMemberImportChunkRequest(_message.Message):
    __slots__ = ("brand_id", "import_id", "seq", "data")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    IMPORT_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    import_id: str
    seq: int
    data: bytes
    def __init__(self, brand_id: _Optional[str] = ..., import_id: _Optional[str] = ..., seq: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class StartMemberImportRequest(_message.Message):
    __slots__ = ("brand_id", "import_id", "chunks")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    IMPORT_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    import_id: str
    chunks: int
    def __init__(self, brand_id: _Optional[str] = ..., import_id: _Optional[str] = ..., chunks: _Optional[int] = ...) -> None: ...

class GetMemberImportRequest(_message.Message):
    __slots__ = ("brand_id", "import_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    IMPORT_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    import_id: str
    def __init__(self, brand_id: _Optional[str] = ..., import_id: _Optional[str] = ...) -> None: ...

class ListMemberImportErrorsRequest(_message.Message):
    __slots__ = ("brand_id", "import_id", "after_row", "limit")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    IMPORT_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_ROW_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    import_id: str
    after_row: int
    limit: int
    def __init__(self, brand_id: _Optional[str] = ..., import_id: _Optional[str] = ..., after_row: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ListMemberImportErrorsResponse(_message.Message):
    __slots__ = ("errors", "next_after_row")
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_ROW_FIELD_NUMBER: _ClassVar[int]
    errors: _containers.RepeatedCompositeFieldContainer[ImportError]
    next_after_row: int
    def __init__(self, errors: _Optional[_Iterable[_Union[ImportError, _Mapping]]] = ..., next_after_row: _Optional[int] = ...) -> None: ...

class ExportMemberDataRequest(_message.Message):
    __slots__ = ("brand_id", "member_id", "actor_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    actor_id: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., actor_id: _Optional[str] = ...) -> None: ...

class ExportMemberDataResponse(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: str
    def __init__(self, json: _Optional[str] = ...) -> None: ...

class EraseMemberRequest(_message.Message):
    __slots__ = ("brand_id", "member_id", "actor_id", "reason")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    actor_id: str
    reason: str
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., actor_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class EraseMemberResponse(_message.Message):
    __slots__ = ("member_id", "erased_at")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ERASED_AT_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    erased_at: _timestamp_pb2.Timestamp
    def __init__(self, member_id: _Optional[str] = ..., erased_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetStaffRequest(_message.Message):
    __slots__ = ("brand_id", "staff_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    staff_id: str
    def __init__(self, brand_id: _Optional[str] = ..., staff_id: _Optional[str] = ...) -> None: ...

class TagCondition(_message.Message):
    __slots__ = ("field", "op", "value_json")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    VALUE_JSON_FIELD_NUMBER: _ClassVar[int]
    field: str
    op: str
    value_json: str
    def __init__(self, field: _Optional[str] = ..., op: _Optional[str] = ..., value_json: _Optional[str] = ...) -> None: ...

class TagRule(_message.Message):
    __slots__ = ("tag", "conditions")
    TAG_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    tag: str
    conditions: _containers.RepeatedCompositeFieldContainer[TagCondition]
    def __init__(self, tag: _Optional[str] = ..., conditions: _Optional[_Iterable[_Union[TagCondition, _Mapping]]] = ...) -> None: ...

class TagRulesJob(_message.Message):
    __slots__ = ("id", "state", "total", "processed", "changed")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PROCESSED_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: str
    total: int
    processed: int
    changed: int
    def __init__(self, id: _Optional[str] = ..., state: _Optional[str] = ..., total: _Optional[int] = ..., processed: _Optional[int] = ..., changed: _Optional[int] = ...) -> None: ...

class TagRules(_message.Message):
    __slots__ = ("brand_id", "rules", "is_default", "updated_at", "updated_by", "reevaluation")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    REEVALUATION_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    rules: _containers.RepeatedCompositeFieldContainer[TagRule]
    is_default: bool
    updated_at: _timestamp_pb2.Timestamp
    updated_by: str
    reevaluation: TagRulesJob
    def __init__(self, brand_id: _Optional[str] = ..., rules: _Optional[_Iterable[_Union[TagRule, _Mapping]]] = ..., is_default: _Optional[bool] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ..., reevaluation: _Optional[_Union[TagRulesJob, _Mapping]] = ...) -> None: ...

class GetTagRulesRequest(_message.Message):
    __slots__ = ("brand_id",)
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    def __init__(self, brand_id: _Optional[str] = ...) -> None: ...

class PutTagRulesRequest(_message.Message):
    __slots__ = ("brand_id", "rules", "use_defaults", "actor_id")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    USE_DEFAULTS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    rules: _containers.RepeatedCompositeFieldContainer[TagRule]
    use_defaults: bool
    actor_id: str
    def __init__(self, brand_id: _Optional[str] = ..., rules: _Optional[_Iterable[_Union[TagRule, _Mapping]]] = ..., use_defaults: _Optional[bool] = ..., actor_id: _Optional[str] = ...) -> None: ...
