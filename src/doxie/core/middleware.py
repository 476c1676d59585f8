"""Request guards applied before any view or parser runs.

Every route: the path, query string, header values and form/JSON bodies go through
``core.request_decoding`` (NUL, surrogates, invalid UTF-8, NaN, overflowing numbers, deep
nesting), and a body over the limit is a 413 — whether or not it declared its length
(chunked bodies under ASGI). The answer is the route's own envelope: the API's JSON
envelopes under ``/api/``, ``{"received": false, "error"}`` under ``/hooks/``, an OAuth2
error object under ``/oauth/``, a small HTML page elsewhere (admin UI, public pages).

The JSON API additionally gets the contract's protocol answers: 406 (Accept), 415 (content
type) and 400 (malformed JSON).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError

from doxie.core import request_decoding as decoding
from doxie.core.envelopes import admin_error, is_admin_path, public_error

ACCEPTABLE = {"application/json", "*/*", "application/*"}
UPLOAD_SUFFIXES = ("/editor/assets", "/editor/assets/")
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def error_response(request: HttpRequest, status: int, message: str, **extra) -> JsonResponse:
    body = admin_error(message) if is_admin_path(request.path) else public_error(message)
    body.update(extra)
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


_TITLES = {400: "Bad request", 404: "Not found", 413: "Request too large", 422: "Invalid input"}


def rejection_response(request: HttpRequest, exc: decoding.MalformedInput) -> HttpResponse:
    """``exc`` in the envelope of the route it was sent to."""
    path = request.path
    if path.startswith("/api/"):
        extra = {"details": exc.details} if exc.status == 422 and exc.details else {}
        return error_response(request, exc.status, exc.message, **extra)
    if path.startswith("/hooks/"):
        return JsonResponse({"received": False, "error": exc.message}, status=exc.status)
    if path.startswith("/oauth/"):
        return JsonResponse(
            {"error": "invalid_request", "error_description": exc.message}, status=exc.status
        )
    title = _TITLES.get(exc.status, "Bad request")
    return HttpResponse(
        f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{html.escape(exc.message)}</p>",
        status=exc.status, content_type="text/html; charset=utf-8",
    )


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
        try:
            check_input(request)
        except decoding.MalformedInput as exc:
            return rejection_response(request, exc)
        return self.check(request) if request.path.startswith("/api/v1/") else None

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        """Views we do not own look rows up with ``int()`` on a ``<path:…>``/``<slug:…>``
        segment: the Django admin (``object_id``, ``content_type_id``) and the OAuth
        toolkit's pages (``pk``). ``١٢`` or ``1_2`` would open row 12, ``x`` raise a 500.
        Integer keys must be ASCII digits; anything else is a 404 before the view runs."""
        ids = [view_kwargs.get("pk"), view_kwargs.get("content_type_id")]
        model_admin = getattr(view_func, "model_admin", None)
        if model_admin is not None and _integer_pk(model_admin.model):
            ids.append(view_kwargs.get("object_id"))
        elif model_admin is None and request.path.startswith("/admin/"):
            ids.append(_ascii_key(view_kwargs.get("object_id")))  # the "view on site" link
        if any(value is not None and not _ID.fullmatch(str(value)) for value in ids):
            return rejection_response(request, decoding.MalformedInput(404, "Not found"))
        return None

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
        body = request.body  # check_input read it within the site-wide limit already
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
                decoding.decoded_json(request)
            except decoding.MalformedInput as exc:
                return rejection_response(request, exc)
        return None


_ID = re.compile("[0-9]{1,18}")
_KEY = re.compile("[-0-9A-Za-z]{1,64}")


def _integer_pk(model) -> bool:
    return model._meta.pk.get_internal_type().endswith(("AutoField", "IntegerField"))


def _ascii_key(value: str | None) -> str | None:
    # Stands in for an id when it is a plain ASCII key, so only non-ASCII keys are refused.
    return "0" if value is not None and _KEY.fullmatch(value) else value


def _too_big(limit: int) -> decoding.MalformedInput:
    return decoding.MalformedInput(413, f"Request body exceeds {limit} bytes")


def check_input(request: HttpRequest) -> None:
    """The site-wide rules; raises :class:`~doxie.core.request_decoding.MalformedInput`."""
    try:
        decoding.check_path(request.path)
    except decoding.MalformedInput as exc:
        raise decoding.MalformedInput(404, "Not found") from exc
    decoding.check_query_string(request.META.get("QUERY_STRING", ""))
    decoding.check_headers(request.headers.items())
    if request.method not in BODY_METHODS:
        return
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError as exc:
        raise decoding.MalformedInput(400, "Invalid Content-Length header") from exc
    if declared > limit:
        raise _too_big(limit)
    try:
        body = request.body  # Django counts the buffered bytes too (chunked, no length)
    except RequestDataTooBig as exc:
        raise _too_big(limit) from exc
    if not body:
        return
    content_type = request.content_type or ""
    if request.path.startswith("/hooks/"):
        # Providers post JSON, SNS with Content-Type text/plain: parse whatever the type.
        try:
            decoding.decoded_json(request)
        except decoding.MalformedInput as exc:
            raise decoding.MalformedInput(400, "Malformed JSON body") from exc
    elif content_type == "application/x-www-form-urlencoded":
        decoding.check_form_body(body)
    elif content_type == "multipart/form-data" and not request.path.startswith("/api/"):
        try:
            decoding.check_form_fields(request.POST.lists())
        except (MultiPartParserError, SuspiciousOperation) as exc:
            raise decoding.MalformedInput(400, "Malformed multipart body") from exc
