"""Every error the gateway returns, as RFC 9457 problem+json, from one table of gRPC status → HTTP status.

Services raise domain errors with a machine-readable reason (``DUPLICATE_PHONE``); the client side restores
them as ``RemoteError``. Here they become ``{type, title, status, detail, errors?, ...details}`` where
``type`` ends with the reason in kebab case, so clients can branch on it without parsing prose. A validation
error's ``errors`` are the service's ``field_errors`` detail when it lists several problems, else its ``field``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from crm_common.errors import RemoteError

log = logging.getLogger(__name__)
T = TypeVar("T")

PROBLEM_BASE = "https://crm.example/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
_RESERVED = frozenset({"type", "title", "status", "detail", "errors", "instance"})
# A service that finds several problems in one request lists them all in this detail; it becomes ``errors``.
FIELD_ERRORS = "field_errors"


@dataclass(frozen=True)
class _Mapping:
    status: int
    carry_details: bool = False
    """Copy the service's ``details`` (e.g. the existing ``member_id``) to the body's top level."""
    generic_detail: str | None = None
    """Replace the service's message: for server-side failures it may name internals."""


# The one table. Anything not listed is a 500 with a generic detail.
STATUS_TABLE: Mapping[grpc.StatusCode, _Mapping] = {
    grpc.StatusCode.INVALID_ARGUMENT: _Mapping(422, carry_details=True),
    grpc.StatusCode.OUT_OF_RANGE: _Mapping(422, carry_details=True),
    grpc.StatusCode.NOT_FOUND: _Mapping(404),
    grpc.StatusCode.ALREADY_EXISTS: _Mapping(409, carry_details=True),
    grpc.StatusCode.FAILED_PRECONDITION: _Mapping(409, carry_details=True),
    grpc.StatusCode.ABORTED: _Mapping(409, carry_details=True),
    grpc.StatusCode.UNAUTHENTICATED: _Mapping(401, generic_detail="Authentication failed."),
    grpc.StatusCode.PERMISSION_DENIED: _Mapping(403),
    grpc.StatusCode.RESOURCE_EXHAUSTED: _Mapping(429, generic_detail="Too many requests; retry later."),
    grpc.StatusCode.UNAVAILABLE: _Mapping(503, generic_detail="A backend service is unavailable; retry."),
    grpc.StatusCode.DEADLINE_EXCEEDED: _Mapping(503, generic_detail="A backend service timed out; retry."),
}
_INTERNAL = _Mapping(500, generic_detail="An unexpected error occurred.")
# Reasons the gateway uses for its own problems (services use their own, more specific ones).
_STATUS_REASON = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "INVALID_ARGUMENT",
    429: "RATE_LIMITED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class FieldError(BaseModel):
    """One invalid field, named as in the JSON body (``items[0].amount_fen``)."""

    field: str = Field(examples=["items[0].amount_fen"])
    message: str = Field(examples=["Input should be greater than or equal to 0"])


class Problem(BaseModel):
    """RFC 9457 problem details; extra members (e.g. ``member_id``) may appear at the top level."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://crm.example/problems/duplicate-phone",
                    "title": "Duplicate phone",
                    "status": 409,
                    "detail": "a member with this phone already exists",
                    "member_id": "m_01J...",
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem+json bodies for ``statuses``."""
    schema = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return {s: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: schema}} for s in statuses}


class ProblemError(Exception):
    """Raise anywhere in the gateway to answer with a problem+json body."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        reason: str | None = None,
        errors: Sequence[FieldError] | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.reason = reason or _STATUS_REASON.get(status, "ERROR")
        self.errors = list(errors) if errors else None
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def to_response(self) -> JSONResponse:
        """The problem+json response."""
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.reason.lower().replace("_", "-"),
            "title": self.reason.replace("_", " ").capitalize(),
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = [e.model_dump() for e in self.errors]
        body.update({k: v for k, v in self.extra.items() if k not in _RESERVED})
        return JSONResponse(
            body, status_code=self.status, media_type=PROBLEM_MEDIA_TYPE, headers=self.headers
        )


def not_found(resource: str) -> ProblemError:
    """The one 404 for ``resource``: identical whether it does not exist or the caller may not see it."""
    return ProblemError(404, f"{resource} not found", reason="NOT_FOUND")


def invalid(*errors: tuple[str, str]) -> ProblemError:
    """A 422 naming each ``(field, message)``; for checks pydantic cannot express (one field vs another)."""
    return ProblemError(
        422,
        "The request is invalid.",
        reason="INVALID_ARGUMENT",
        errors=[FieldError(field=f, message=m) for f, m in errors],
    )


def problem_from_remote(err: RemoteError, field_aliases: Mapping[str, str] | None = None) -> ProblemError:
    """Map a service's error through the table. ``field_aliases`` renames proto fields to JSON ones."""
    row = STATUS_TABLE.get(err.code, _INTERNAL)
    if row.status >= 500:
        # The message of a server-side failure can name hosts, SQL or stack frames: log it, never return it.
        log.warning("backend call failed: %s %s %s", err.service or "rpc", err.code.name, err.message)
    known = err.code in STATUS_TABLE
    reason = err.reason if known and err.reason else _STATUS_REASON.get(row.status, "INTERNAL")
    # A transport failure has no domain reason; its "reason" is just the status name (e.g. UNAVAILABLE).
    detail = row.generic_detail or err.message or reason.replace("_", " ").capitalize()
    errors = None
    if row.status == 422:
        errors = _field_errors(err.details.get(FIELD_ERRORS), field_aliases)
        if not errors and err.field:
            errors = [FieldError(field=rename_field(err.field, field_aliases), message=err.message)]
    extra = {k: v for k, v in err.details.items() if k != FIELD_ERRORS} if row.carry_details else None
    return ProblemError(row.status, detail, reason=reason, errors=errors, extra=extra)


def _field_errors(listed: Any, aliases: Mapping[str, str] | None) -> list[FieldError]:
    """A service's ``field_errors: [{field, message}, ...]`` as the body's ``errors`` (entries of another shape
    are skipped, so a malformed list falls back to the error's own ``field``)."""
    if not isinstance(listed, list):
        return []
    return [
        FieldError(field=rename_field(e["field"], aliases), message=e["message"])
        for e in listed
        if isinstance(e, dict) and isinstance(e.get("field"), str) and e["field"] and isinstance(e.get("message"), str)
    ]


def rename_field(field: str, aliases: Mapping[str, str] | None) -> str:
    """``location.lat`` → ``lat`` etc.: the longest proto-side prefix in ``aliases`` wins."""
    if not aliases:
        return field
    for proto_name in sorted(aliases, key=len, reverse=True):
        if field == proto_name or field.startswith((proto_name + ".", proto_name + "[")):
            return aliases[proto_name] + field[len(proto_name):]
    return field


def field_path(loc: Sequence[str | int]) -> str:
    """Pydantic's ``("body", "items", 0, "amount_fen")`` → ``items[0].amount_fen`` (the services' style)."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        source = parts.pop(0)
        if not parts or (source == "body" and all(isinstance(p, int) for p in parts)):
            return "body"  # the body as a whole: missing, or not JSON (loc then holds a byte offset)
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _validation_problem(exc: RequestValidationError) -> ProblemError:
    errors = []
    for err in exc.errors():
        message = err.get("msg", "invalid value")
        if err.get("type") == "json_invalid":
            message = "The body is not valid JSON."
        errors.append(FieldError(field=field_path(err.get("loc", ())), message=message))
    return ProblemError(422, "The request is invalid.", reason="INVALID_ARGUMENT", errors=errors)


def install(app: FastAPI) -> None:
    """Make every error path of ``app`` answer with problem+json."""

    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return exc.to_response()

    @app.exception_handler(RemoteError)
    async def _remote(_: Request, exc: RemoteError) -> JSONResponse:
        return problem_from_remote(exc).to_response()

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_problem(exc).to_response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Unknown routes (404), wrong methods (405, keeping its Allow header), anything else Starlette raises.
        detail = exc.detail if isinstance(exc.detail, str) else "HTTP error"
        return ProblemError(exc.status_code, detail, headers=exc.headers).to_response()

    @app.exception_handler(UnicodeEncodeError)
    async def _unencodable(_: Request, exc: UnicodeEncodeError) -> JSONResponse:
        # JSON may escape a lone UTF-16 surrogate ("\ud800"), which no UTF-8 field (protobuf, PostgreSQL) can
        # hold: the client sent it, so it is the client's error wherever it surfaced.
        return ProblemError(422, "The request contains text that is not valid Unicode (a lone surrogate).",
                            reason="INVALID_ARGUMENT").to_response()

    @app.exception_handler(Exception)
    async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
        # Starlette re-raises after this response, so the server logs the traceback once; not here too.
        return ProblemError(500, _INTERNAL.generic_detail or "", reason="INTERNAL").to_response()


async def rpc(
    call: Awaitable[T],
    *,
    field_aliases: Mapping[str, str] | None = None,
    not_found_as: str | None = None,
) -> T:
    """Await a stub call, turning a service error into the gateway's problem.

    ``field_aliases`` renames proto field names in validation errors to the REST body's names;
    ``not_found_as`` replaces any NOT_FOUND by the gateway's own ``not_found(resource)``, so a record the
    caller may not see and one that does not exist answer with exactly the same body.
    """
    try:
        return await call
    except RemoteError as err:
        if not_found_as and err.code == grpc.StatusCode.NOT_FOUND:
            raise not_found(not_found_as) from None
        raise problem_from_remote(err, field_aliases) from None
