"""Envelope and error schemas shared by every router, so the OpenAPI document is uniform."""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Path, Schema
from pydantic import create_model


class FieldErrorOut(Schema):
    field: str
    message: str


class AdminErrorOut(Schema):
    success: bool = False
    message: str | None = None
    error: str
    data: None = None
    details: list[FieldErrorOut] | None = None


class PublicErrorOut(Schema):
    success: bool = False
    error_message: str
    process_uuid: str | None = None
    data: None = None
    details: list[FieldErrorOut] | None = None


_cache: dict[str, type[Schema]] = {}


def admin_envelope(data_schema: Any, name: str) -> type[Schema]:
    """``{"success", "message", "error", "data": <data_schema>}`` as a named schema."""
    if name not in _cache:
        _cache[name] = create_model(  # type: ignore[call-overload]
            name,
            __base__=Schema,
            success=(bool, True),
            message=(str | None, None),
            error=(str | None, None),
            data=(data_schema, ...),
        )
    return _cache[name]


def public_envelope(data_schema: Any, name: str) -> type[Schema]:
    """``{"success", "error_message", "process_uuid", "data": <data_schema>}``."""
    if name not in _cache:
        _cache[name] = create_model(  # type: ignore[call-overload]
            name,
            __base__=Schema,
            success=(bool, True),
            error_message=(str | None, None),
            process_uuid=(str | None, None),
            data=(data_schema, ...),
        )
    return _cache[name]


_ADMIN_ERROR_CODES = (400, 401, 403, 404, 406, 413, 415, 422, 429, 503)
_PUBLIC_ERROR_CODES = (400, 401, 404, 406, 409, 413, 415, 422, 429, 503)


def admin_responses(ok: dict[int, Any], *extra_codes: int) -> dict[int, Any]:
    codes = set(_ADMIN_ERROR_CODES) | set(extra_codes)
    return {**ok, **{code: AdminErrorOut for code in sorted(codes)}}


def public_responses(ok: dict[int, Any], *extra_codes: int) -> dict[int, Any]:
    codes = set(_PUBLIC_ERROR_CODES) | set(extra_codes)
    return {**ok, **{code: PublicErrorOut for code in sorted(codes)}}


# The tenant slug sits in every router's prefix; declared explicitly as a path parameter
# because django-ninja only infers path parameters from an operation's own path.
TenantSlug = Annotated[str, Path(description="The tenant slug", examples=["ts"])]
