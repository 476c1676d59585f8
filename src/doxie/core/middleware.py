"""Request guards for the JSON API, applied before any view or parser runs.

They give every router the same answers for the protocol-level mistakes of the contract:
406 (Accept), 413 (body too large), 415 (content type) and 400 (malformed JSON).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from doxie.core.envelopes import admin_error, is_admin_path, public_error

ACCEPTABLE = {"application/json", "*/*", "application/*"}
UPLOAD_SUFFIXES = ("/editor/assets", "/editor/assets/")
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def error_response(request: HttpRequest, status: int, message: str, **extra) -> JsonResponse:
    body = admin_error(message) if is_admin_path(request.path) else public_error(message)
    body.update(extra)
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def _accept_ok(header: str) -> bool:
    if not header.strip():
        return True
    types = {part.split(";")[0].strip().lower() for part in header.split(",")}
    return bool(types & ACCEPTABLE)


class ApiRequestGuardMiddleware:
    """Sync and async capable: under ASGI a sync-only middleware in the chain makes Django
    hop between the event loop and threads around it on every request. The checks do no
    I/O (the body is already buffered by the handler), so both paths share them."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self.__acall__(request)
        rejection = self._guard(request)
        return rejection if rejection is not None else self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        rejection = self._guard(request)
        return rejection if rejection is not None else await self.get_response(request)

    def _guard(self, request: HttpRequest) -> HttpResponse | None:
        return self.check(request) if request.path.startswith("/api/v1/") else None

    def check(self, request: HttpRequest) -> HttpResponse | None:
        if not _accept_ok(request.headers.get("Accept", "")):
            return error_response(request, 406, "Only application/json responses are available")
        if request.method not in BODY_METHODS:
            return None
        is_upload = request.path.endswith(UPLOAD_SUFFIXES)
        limit = settings.DOXIE_MAX_UPLOAD_BODY if is_upload else settings.DOXIE_MAX_JSON_BODY
        try:
            declared = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            return error_response(request, 400, "Invalid Content-Length header")
        if declared > limit:
            return error_response(request, 413, f"Request body exceeds {limit} bytes")
        body = request.body
        if len(body) > limit:
            return error_response(request, 413, f"Request body exceeds {limit} bytes")
        if not body:
            return None
        content_type = request.content_type or ""
        expected = "multipart/form-data" if is_upload else "application/json"
        if content_type != expected:
            return error_response(request, 415, f"Content-Type must be {expected}")
        if not is_upload:
            try:
                json.loads(body)
            except (ValueError, UnicodeDecodeError):
                return error_response(request, 400, "Malformed JSON body")
        return None
