"""Domain errors as values with a machine-readable reason, and their one mapping to gRPC status codes.

A service raises ``DomainError`` subclasses from its domain or handlers; the gRPC server bootstrap turns
them into a status code plus a ``crm-error-bin`` trailer (JSON: reason, message, field, details). Clients
get the same error back as ``RemoteError`` with those fields, so the gateway can map it to problem+json.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import grpc

ERROR_TRAILER = "crm-error-bin"


class DomainError(Exception):
    """A rule of the domain said no. ``reason`` is stable and machine-readable (UPPER_SNAKE)."""

    code: grpc.StatusCode = grpc.StatusCode.FAILED_PRECONDITION
    default_reason = "FAILED_PRECONDITION"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        field: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.field = field
        self.details = details or {}

    def to_trailer(self) -> bytes:
        """The JSON body of the error trailer."""
        return json.dumps(
            {"reason": self.reason, "message": self.message, "field": self.field, "details": self.details},
            ensure_ascii=False,
        ).encode()


class InvalidArgument(DomainError):
    """The request is malformed; ``field`` names the offending field (dotted path)."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    default_reason = "INVALID_ARGUMENT"


class NotFound(DomainError):
    """The resource does not exist in the caller's brand (also used to hide other tenants' data)."""

    code = grpc.StatusCode.NOT_FOUND
    default_reason = "NOT_FOUND"


class AlreadyExists(DomainError):
    """A uniqueness rule: the same phone, code or external id is already taken."""

    code = grpc.StatusCode.ALREADY_EXISTS
    default_reason = "ALREADY_EXISTS"


class Conflict(DomainError):
    """The command contradicts the current state (insufficient points, out of stock, ...)."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    default_reason = "CONFLICT"


class Unauthenticated(DomainError):
    """Credentials are wrong, unknown or disabled; never says which."""

    code = grpc.StatusCode.UNAUTHENTICATED
    default_reason = "INVALID_CREDENTIALS"


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""

    code = grpc.StatusCode.PERMISSION_DENIED
    default_reason = "PERMISSION_DENIED"


@dataclass
class RemoteError(Exception):
    """An error returned by another service, with the domain fields restored from the trailer."""

    code: grpc.StatusCode
    reason: str
    message: str
    field: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    service: str = ""

    def __str__(self) -> str:
        return f"{self.service or 'rpc'}: {self.code.name} {self.reason}: {self.message}"

    @classmethod
    def from_rpc_error(cls, err: grpc.aio.AioRpcError, service: str = "") -> RemoteError:
        """Rebuild the domain error carried by a failed call (or a generic one for transport errors)."""
        code = err.code()
        for key, value in err.trailing_metadata() or ():
            if key == ERROR_TRAILER:
                try:
                    body = json.loads(value)
                except ValueError:
                    break
                return cls(
                    code=code,
                    reason=body.get("reason") or code.name,
                    message=body.get("message") or "",
                    field=body.get("field"),
                    details=body.get("details") or {},
                    service=service,
                )
        return cls(code=code, reason=code.name, message=err.details() or "", service=service)
