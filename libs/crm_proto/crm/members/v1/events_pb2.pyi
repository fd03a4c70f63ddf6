import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BrandCreated(_message.Message):
    __slots__ = ("brand_id", "code", "name", "timezone")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    code: str
    name: str
    timezone: str
    def __init__(self, brand_id: _Optional[str] = ..., code: _Optional[str] = ..., name: _Optional[str] = ..., timezone: _Optional[str] = ...) -> None: ...

class StoreCreated(_message.Message):
    __slots__ = ("brand_id", "store_id", "code", "name", "city", "lat", "lng")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    store_id: str
    code: str
    name: str
    city: str
    lat: float
    lng: float
    def __init__(self, brand_id: _Optional[str] = ..., store_id: _Optional[str] = ..., code: _Optional[str] = ..., name: _Optional[str] = ..., city: _Optional[str] = ..., lat: _Optional[float] = ..., lng: _Optional[float] = ...) -> None: ...

class StaffCreated(_message.Message):
    __slots__ = ("brand_id", "staff_id", "role", "store_ids")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    staff_id: str
    role: str
    store_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, brand_id: _Optional[str] = ..., staff_id: _Optional[str] = ..., role: _Optional[str] = ..., store_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class MemberRegistered(_message.Message):
    __slots__ = ("brand_id", "member_id", "store_id", "guide_id", "channel", "gender", "birthday", "registered_at", "consents", "phone_hash", "tags", "attributes")
    class ConsentsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bool
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bool] = ...) -> None: ...
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    GUIDE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    BIRTHDAY_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    CONSENTS_FIELD_NUMBER: _ClassVar[int]
    PHONE_HASH_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    store_id: str
    guide_id: str
    channel: str
    gender: str
    birthday: str
    registered_at: _timestamp_pb2.Timestamp
    consents: _containers.ScalarMap[str, bool]
    phone_hash: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., store_id: _Optional[str] = ..., guide_id: _Optional[str] = ..., channel: _Optional[str] = ..., gender: _Optional[str] = ..., birthday: _Optional[str] = ..., registered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., consents: _Optional[_Mapping[str, bool]] = ..., phone_hash: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class MemberUpdated(_message.Message):
    __slots__ = ("brand_id", "member_id", "store_id", "guide_id", "gender", "birthday", "consents", "tags", "attributes", "updated_at")
    class ConsentsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bool
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bool] = ...) -> None: ...
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    GUIDE_ID_FIELD_NUMBER: _ClassVar[int]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    BIRTHDAY_FIELD_NUMBER: _ClassVar[int]
    CONSENTS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    store_id: str
    guide_id: str
    gender: str
    birthday: str
    consents: _containers.ScalarMap[str, bool]
    tags: _containers.RepeatedScalarFieldContainer[str]
    attributes: _containers.ScalarMap[str, str]
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., store_id: _Optional[str] = ..., guide_id: _Optional[str] = ..., gender: _Optional[str] = ..., birthday: _Optional[str] = ..., consents: _Optional[_Mapping[str, bool]] = ..., tags: _Optional[_Iterable[str]] = ..., attributes: _Optional[_Mapping[str, str]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MemberMerged(_message.Message):
    __slots__ = ("brand_id", "survivor_member_id", "merged_member_id", "merged_at")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    SURVIVOR_MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    MERGED_MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    MERGED_AT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    survivor_member_id: str
    merged_member_id: str
    merged_at: _timestamp_pb2.Timestamp
    def __init__(self, brand_id: _Optional[str] = ..., survivor_member_id: _Optional[str] = ..., merged_member_id: _Optional[str] = ..., merged_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MemberErased(_message.Message):
    __slots__ = ("brand_id", "member_id", "erased_at")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ERASED_AT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    member_id: str
    erased_at: _timestamp_pb2.Timestamp
    def __init__(self, brand_id: _Optional[str] = ..., member_id: _Optional[str] = ..., erased_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MembersTransferred(_message.Message):
    __slots__ = ("brand_id", "transfer_id", "from_store_id", "from_guide_id", "to_store_id", "to_guide_id", "member_ids")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_GUIDE_ID_FIELD_NUMBER: _ClassVar[int]
    TO_STORE_ID_FIELD_NUMBER: _ClassVar[int]
    TO_GUIDE_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_IDS_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    transfer_id: str
    from_store_id: str
    from_guide_id: str
    to_store_id: str
    to_guide_id: str
    member_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, brand_id: _Optional[str] = ..., transfer_id: _Optional[str] = ..., from_store_id: _Optional[str] = ..., from_guide_id: _Optional[str] = ..., to_store_id: _Optional[str] = ..., to_guide_id: _Optional[str] = ..., member_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class StaffDeactivated(_message.Message):
    __slots__ = ("brand_id", "staff_id", "left_at")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    STAFF_ID_FIELD_NUMBER: _ClassVar[int]
    LEFT_AT_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    staff_id: str
    left_at: _timestamp_pb2.Timestamp
    def __init__(self, brand_id: _Optional[str] = ..., staff_id: _Optional[str] = ..., left_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StoreStatusChanged(_message.Message):
    __slots__ = ("brand_id", "store_id", "open")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    store_id: str
    open: bool
    def __init__(self, brand_id: _Optional[str] = ..., store_id: _Optional[str] = ..., open: _Optional[bool] = ...) -> None: ...
