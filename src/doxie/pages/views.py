"""Public pages: published landing pages at ``/p/<tenant>/<slug>`` and their asset files.

The page is the stored HTML, byte for byte (rendering happens at publish time), with an
``ETag`` so browsers and proxies revalidate cheaply, a CSP that allows no script and only
the page's own stylesheet (by hash) and our own images, and framing denied. A draft or
unknown page is a plain 404 page with the same headers.
"""

from __future__ import annotations

import re

from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseNotModified
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from doxie.pages import assets, selectors
from doxie.pages.models import Asset

_NOT_FOUND_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
_ASSET_NAME = re.compile(
    r"^pages/\d{1,18}/[A-Za-z0-9_-]{1,64}(?:\.thumb)?\.(?:png|jpg|gif|webp|pdf)$"
)


def _not_found() -> HttpResponse:
    response = HttpResponse(render_to_string("pages/not_found.html"), status=404)
    response["Content-Security-Policy"] = _NOT_FOUND_CSP
    response["X-Frame-Options"] = "DENY"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def page_response(
    page: selectors.PublishedPage, request: HttpRequest | None = None
) -> HttpResponse:
    """A published page as a response (also for other apps' public pages)."""
    if request is not None and page.etag in _etags(request.headers.get("If-None-Match", "")):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(page.html, content_type="text/html; charset=utf-8")
    for name, value in page.headers.items():
        response[name] = value
    response["Cache-Control"] = "public, max-age=60, must-revalidate"
    return response


def _etags(header: str) -> set[str]:
    return {part.strip().removeprefix("W/") for part in header.split(",") if part.strip()}


@require_safe
def published(request: HttpRequest, tenant: str, slug: str) -> HttpResponse:
    page = selectors.published_page(tenant, slug)
    if page is None:
        return _not_found()
    return page_response(page, request)


@require_safe
def asset_file(request: HttpRequest, name: str) -> HttpResponse:
    """Files of the default (filesystem) storage; S3 deployments serve them from the bucket."""
    if not _ASSET_NAME.match(name):
        return _not_found()
    row = (
        Asset.objects.filter(file=name).values_list("mime_type").first()
        or (("image/png",) if Asset.objects.filter(thumbnail=name).exists() else None)
    )
    if row is None:
        return _not_found()
    try:
        handle = assets.storage().open(name, "rb")
    except (FileNotFoundError, OSError):
        return _not_found()
    response = FileResponse(handle, content_type=row[0])
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=86400, immutable"
    if row[0] == "application/pdf":
        response["Content-Disposition"] = "attachment"
    return response
