from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class LeadAssigned(_message.Message):
    __slots__ = ("brand_id", "lead_id", "store_id", "assignee_id", "source")
    BRAND_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    brand_id: str
    lead_id: str
    store_id: str
    assignee_id: str
    source: str
    def __init__(self, brand_id: _Optional[str] = ..., lead_id: _Optional[str] = ..., store_id: _Optional[str] = ..., assignee_id: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...
