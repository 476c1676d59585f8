"""The JSON API: one NinjaAPI, every domain router mounted, one error handler.

The handler is the only place that turns exceptions into responses, so every router gives
the same envelope for the same failure (and no client input can become a 500).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from doxie.core import converters  # noqa: F401 - registers {id:}, {key:}… before routing
from doxie.core.envelopes import admin_error, is_admin_path, public_error
from doxie.core.errors import DomainError
from doxie.core.request_decoding import JsonParser, MalformedInput

log = logging.getLogger("doxie.api")

api = NinjaAPI(
    title="Doxie MPM API",
    version="1.0.0",
    description=(
        "Provable marketing consents (double opt-in), branded email/SMS/RCS messaging, "
        "journeys, surveys, QR codes and signed webhooks.\n\n"
        "* Public API (`/api/v1/{tenant}/...`): HTTP Basic with an API user of the tenant.\n"
        "* Admin API (`/api/v1/{tenant}/admin/...`): OAuth2 bearer token from `/oauth/token` "
        "(client credentials, or authorization code with PKCE), scopes `read` / `write`; "
        "the token's user must be a member of the tenant with the same permissions.\n\n"
        "Errors use the same envelope with `success: false`; 422 adds `details` "
        "(`[{field, message}]`). Lists are paginated with `limit` (default 200, max 1000) "
        "and `page` (1-based). Secrets are never returned (`********`); sending `********` "
        "back keeps the stored value. `Accept-Language: en` switches admin messages to English."
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    parser=JsonParser(),
)


def _respond(request: HttpRequest, status: int, message: str, details=None, headers=None):
    body = (
        admin_error(message, details)
        if is_admin_path(request.path)
        else public_error(message, details)
    )
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_name(loc: tuple) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "form", "file", "cookie"}:
        parts = parts[1:]
        if len(parts) > 1 and parts[0] in {"payload", "params", "data"}:
            parts = parts[1:]
    return ".".join(parts) or "body"


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    details = [d.as_dict() for d in exc.details] if exc.status == 422 else None
    return _respond(request, exc.status, exc.message, details, exc.headers)


@api.exception_handler(MalformedInput)
def on_malformed_input(request: HttpRequest, exc: MalformedInput) -> HttpResponse:
    return _respond(request, exc.status, exc.message, exc.details or None)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details = []
    for error in exc.errors:
        message = error.get("msg", "is invalid")
        if error.get("type") == "missing":
            message = "is required"
        elif error.get("type") == "extra_forbidden":
            message = "is not a known field"
        details.append({"field": _field_name(tuple(error.get("loc", ()))), "message": message})
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
    return _respond(request, 422, f"Validation failed: {summary}", details)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _respond(
        request, 401, "Authentication required", headers={"WWW-Authenticate": "Basic"}
    )


@api.exception_handler(AuthorizationError)
def on_authorization_error(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return _respond(request, 403, str(exc) or "Forbidden")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _respond(request, exc.status_code, str(exc))


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def on_database_down(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.warning("database unavailable: %s", exc)
    return _respond(
        request, 503, "Database temporarily unavailable", headers={"Retry-After": "5"}
    )


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    if _is_pool_timeout(exc) or isinstance(exc, DatabaseError) and _db_down(exc):
        return on_database_down(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _respond(request, 500, "Internal server error")


def _is_pool_timeout(exc: Exception) -> bool:
    from psycopg_pool import PoolTimeout

    return isinstance(exc, PoolTimeout)


def _db_down(exc: Exception) -> bool:
    return isinstance(exc.__cause__, OperationalError | InterfaceError)


def mount_routers() -> None:
    """Domain routers register here; imported lazily so app loading order does not matter."""
    from doxie.brands.api import router as brands_router
    from doxie.consents.api import admin_router as consents_admin_router
    from doxie.consents.api import router as consents_router
    from doxie.journeys.api import admin_router as journeys_admin_router
    from doxie.journeys.api import router as journeys_router
    from doxie.messaging.api import router as messaging_router
    from doxie.pages.api import editor_router as pages_editor_router
    from doxie.pages.api import router as pages_router
    from doxie.processes.api import admin_router as processes_admin_router
    from doxie.processes.api import router as processes_router
    from doxie.qrcodes.api import admin_router as qrcodes_admin_router
    from doxie.qrcodes.api import router as qrcodes_router
    from doxie.surveys.api import admin_router as surveys_admin_router
    from doxie.surveys.api import router as surveys_router
    from doxie.tenants.api import router as tenants_router
    from doxie.tenants.public_api import router as tenants_public_router
    from doxie.webhooks.api import router as webhooks_router

    # Public API (HTTP Basic with an API user)
    api.add_router("/v1/{key:tenant}/", tenants_public_router)
    api.add_router("/v1/{key:tenant}/", consents_router)
    api.add_router("/v1/{key:tenant}/", messaging_router)
    api.add_router("/v1/{key:tenant}/", processes_router)
    api.add_router("/v1/{key:tenant}/", journeys_router)
    api.add_router("/v1/{key:tenant}/", qrcodes_router)
    api.add_router("/v1/{key:tenant}/", surveys_router)
    # Admin API (OAuth2 bearer)
    api.add_router("/v1/{key:tenant}/admin/", tenants_router)
    api.add_router("/v1/{key:tenant}/admin/", brands_router)
    api.add_router("/v1/{key:tenant}/admin/", webhooks_router)
    api.add_router("/v1/{key:tenant}/admin/", consents_admin_router)
    api.add_router("/v1/{key:tenant}/admin/", processes_admin_router)
    api.add_router("/v1/{key:tenant}/admin/", pages_router)
    api.add_router("/v1/{key:tenant}/admin/", pages_editor_router)
    api.add_router("/v1/{key:tenant}/admin/", journeys_admin_router)
    api.add_router("/v1/{key:tenant}/admin/", qrcodes_admin_router)
    api.add_router("/v1/{key:tenant}/admin/", surveys_admin_router)



mount_routers()
