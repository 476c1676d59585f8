"""The public double opt-in pages: ``/doi/<token>`` (email) and ``/d/<token>`` (SMS).

Link scanners in mail gateways fetch every URL of a message; a consent must not be
confirmed by them. So GET (and HEAD) only ever *show* a branded page with a button, and
only the POST that button submits (CSRF-protected, so it needs the cookie set by that page)
confirms. Every outcome is a friendly HTML page with the right status, never a Django error
page. Pages carry a strict CSP with a per-response nonce for the inline style, deny framing,
and keep the token out of caches and out of other sites' Referer headers.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from doxie.brands.style import page_style
from doxie.consents import rendering, selectors, services, texts
from doxie.consents.models import Consent
from doxie.core.net import client_ip

log = logging.getLogger("doxie.consents")

def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _style(consent: Consent | None) -> dict[str, str]:
    """Brand colours and fonts, each checked so nothing but a value reaches the CSS."""
    brand = consent.purpose.brand if consent is not None else None
    return page_style(getattr(brand, "style", None) if brand is not None else None)


def _csp(nonce: str, form_targets: list[str], font_url: str) -> str:
    fonts = " ".join(dict.fromkeys(["'self'", *([_origin(font_url)] if font_url else [])]))
    form = " ".join(dict.fromkeys(["'self'", *[t for t in form_targets if t]]))
    return (
        f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' https: data:; "
        f"font-src {fonts}; form-action {form}; frame-ancestors 'none'; base-uri 'none'"
    )


def _page(
    request: HttpRequest, template: str, status: int, consent: Consent | None, **context: object
) -> HttpResponse:
    nonce = secrets.token_urlsafe(16)
    style = _style(consent)
    purpose = consent.purpose if consent is not None else None
    redirect = purpose.success_redirect_url if purpose is not None else ""
    response = render(
        request,
        f"consents/{template}",
        {
            "nonce": nonce,
            "style": style,
            "brand_name": purpose.brand.name if purpose is not None else "",
            "purpose_name": purpose.name if purpose is not None else "",
            **context,
        },
        status=status,
    )
    _secure(response, _csp(nonce, [_origin(redirect)], style["font_url"]))
    return response


def _secure(response: HttpResponse, csp: str) -> None:
    response["Content-Security-Policy"] = csp
    response["X-Frame-Options"] = "DENY"
    # Same-origin keeps Origin/Referer for our own CSRF check; other sites never see the token.
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"


def _state_page(request: HttpRequest, state: str, consent: Consent | None) -> HttpResponse:
    page = texts.STATE_PAGES[state]
    return _page(
        request, "message.html", page.status, consent, headline=page.headline, body=page.body
    )


def _csrf_failed(request: HttpRequest) -> bool:
    """Django's own CSRF check, run here so a failure gets our page, not Django's."""
    check = CsrfViewMiddleware(lambda r: HttpResponse())
    return check.process_view(request, None, (), {}) is not None


@csrf_exempt  # checked explicitly in _csrf_failed, with a friendly failure page
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method in ("GET", "HEAD"):
            return _show(request, token)
        if request.method == "POST":
            return _confirm(request, token)
    except DatabaseError:
        log.warning("DOI page unavailable: database error", exc_info=True)
        return _state_page(request, "error", None)
    response = _state_page(request, "method", None)
    response["Allow"] = "GET, HEAD, POST"
    return response


def _show(request: HttpRequest, token: str) -> HttpResponse:
    consent = selectors.consent_for_token(token)
    state = services.link_state(consent)
    if state != services.LinkState.READY:
        return _state_page(request, state, consent)
    purpose_name = consent.purpose.name if consent is not None else ""
    return _page(
        request, "confirm.html", 200, consent,
        headline=texts.CONFIRM_HEADLINE, body=texts.confirm_body(purpose_name),
        button=texts.BUTTON_LABEL,
    )


def _confirm(request: HttpRequest, token: str) -> HttpResponse:
    if _csrf_failed(request):
        return _state_page(request, "forbidden", selectors.consent_for_token(token))
    outcome = services.confirm(
        token=token, ip=client_ip(request), user_agent=request.headers.get("User-Agent", "")
    )
    if outcome.state != services.LinkState.CONFIRMED:
        return _state_page(request, outcome.state, outcome.consent)
    consent = outcome.consent
    assert consent is not None
    purpose = consent.purpose
    if purpose.success_redirect_url:
        response = HttpResponseRedirect(purpose.success_redirect_url, status=303)
        _secure(response, "default-src 'none'; frame-ancestors 'none'")
        return response
    return _page(
        request, "message.html", texts.THANK_YOU.status, consent,
        headline=texts.THANK_YOU.headline, body=texts.THANK_YOU.body,
        # Sanitized on save already; again here in case a row was written around save().
        custom_html=rendering.sanitize_html(purpose.success_page_html),
    )
