"""The public QR URLs: ``/qr/{uuid}`` (scan → redirect) and ``/qr/{uuid}.png|.svg``.

* Active code: **302** to the target with ``Cache-Control: no-store`` — a cached (or 301)
  redirect would let the browser skip us and the repeat scan would go uncounted.
* Expired or cancelled: a 302 to the event's ``expired_url``, else a **410** page in the
  brand's style (strict CSP, no script). Unknown or malformed: a 404 page. The target is
  only ever the stored, validated URL of an existing code: never an open redirect.
* Every GET is a scan (see ``scanning``); HEAD answers the same without recording.
* The database unreachable: a **503** page with ``Retry-After``, never a redirect we could
  not count.
"""

from __future__ import annotations

import logging
import secrets

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import quote_etag
from django.views.decorators.http import require_http_methods
from psycopg_pool import PoolTimeout

from doxie.brands.style import page_style
from doxie.core.net import client_ip
from doxie.qrcodes import images, scanning, selectors
from doxie.qrcodes.models import ScanStatus

log = logging.getLogger("doxie.qrcodes")

_ONE_YEAR = 365 * 24 * 3600


def _secure(response: HttpResponse, nonce: str | None = None) -> HttpResponse:
    style = f"style-src 'nonce-{nonce}'; " if nonce else ""
    response["Content-Security-Policy"] = (
        f"default-src 'none'; {style}img-src 'self' data:; form-action 'none'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    response["X-Frame-Options"] = "DENY"
    response["X-Content-Type-Options"] = "nosniff"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _page(request: HttpRequest, status: int, headline: str, body: str,
          brand=None) -> HttpResponse:  # noqa: ANN001 - a brands.Brand or None
    nonce = secrets.token_urlsafe(16)
    response = render(request, "qrcodes/page.html", {
        "nonce": nonce, "headline": headline, "body": body,
        "brand_name": brand.name if brand is not None else "",
        "style": page_style(getattr(brand, "style", None) if brand is not None else None),
    }, status=status)
    response["Cache-Control"] = "no-store"
    return _secure(response, nonce)


def not_found_page(request: HttpRequest) -> HttpResponse:
    return _page(request, 404, "QR-Code nicht gefunden",
                 "Dieser QR-Code ist uns nicht bekannt. Bitte prüfen Sie den Link.")


def unavailable_page(request: HttpRequest) -> HttpResponse:
    response = _page(request, 503, "Vorübergehend nicht erreichbar",
                     "Bitte versuchen Sie es in wenigen Augenblicken noch einmal.")
    response["Retry-After"] = "5"
    return response


def _redirect(url: str) -> HttpResponse:
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return _secure(response)


def _answer(request: HttpRequest, outcome: scanning.Outcome) -> HttpResponse:
    if outcome.active:
        return _redirect(outcome.target_url)
    if outcome.expired_url:
        return _redirect(outcome.expired_url)
    headline = ("Diese Aktion wurde beendet" if outcome.status == ScanStatus.CANCELLED
                else "Dieser QR-Code ist abgelaufen")
    return _page(request, 410, headline,
                 "Das Angebot hinter diesem QR-Code ist nicht mehr verfügbar.",
                 selectors.page_brand(outcome.event_id))


@require_http_methods(["GET", "HEAD"])
def scan(request: HttpRequest, code: str) -> HttpResponse:
    code_uuid = scanning.parse_uuid(code)
    if code_uuid is None:
        return not_found_page(request)
    try:
        if request.method == "HEAD":
            outcome = scanning.peek(code_uuid)
        else:
            outcome = scanning.record_scan(
                code_uuid,
                user_agent=request.headers.get("User-Agent", ""),
                referrer=request.headers.get("Referer", ""),
                ip=client_ip(request),
                headers=request.headers,
            )
        if outcome is None:
            return not_found_page(request)
        return _answer(request, outcome)
    except (DatabaseError, PoolTimeout):
        log.warning("QR scan unavailable: database error", exc_info=True)
        return unavailable_page(request)


def _size(raw: str | None) -> int | None:
    """``?size=`` in pixels, clamped to the allowed range; None when it is not a number."""
    if raw is None or raw == "":
        return images.DEFAULT_SIZE
    if not raw.isdigit() or len(raw) > 6:
        return None
    return min(images.MAX_SIZE, max(images.MIN_SIZE, int(raw)))


@require_http_methods(["GET", "HEAD"])
def image(request: HttpRequest, code: str, kind: str) -> HttpResponse:
    code_uuid = scanning.parse_uuid(code)
    if code_uuid is None:
        return not_found_page(request)
    size = _size(request.GET.get("size"))
    if size is None:
        return _page(request, 400, "Ungültige Größe",
                     f"size muss eine Zahl von {images.MIN_SIZE} bis {images.MAX_SIZE} sein.")
    try:
        raw_style = selectors.image_style(code_uuid)
    except (DatabaseError, PoolTimeout):
        log.warning("QR image unavailable: database error", exc_info=True)
        return unavailable_page(request)
    if raw_style is None:
        return not_found_page(request)
    style = images.Style.of(raw_style)
    url = images.scan_url(str(code_uuid))
    tag = images.etag(url, style, size, kind)
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={_ONE_YEAR}, immutable"}
    wanted = [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]
    if tag in wanted or quote_etag(tag) in wanted:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(images.render(url, style, size, kind),
                                content_type=images.FORMATS[kind])
    for name, value in headers.items():
        response[name] = value
    return _secure(response)
