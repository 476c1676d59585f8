"""Tracked links: ``/l/{token}`` counts a click, reports it and redirects to the original URL.

Why it is built this way:

* The token (made by ``rendering`` when links are rewritten) is the only key: an unknown
  (or malformed) token is a plain 404 page, never a redirect, so the endpoint cannot be
  abused as an open redirect. Only ``http``/``https`` targets are redirected to.
* ``GET`` is a click: the link row is locked, ``clicks`` incremented, the first click stamps
  ``first_clicked_at`` and moves the message to ``clicked`` (through ``record_status``, whose
  dedupe key ``click:{token}`` makes a retried first click harmless), and ``link_clicked`` is
  emitted — all in one transaction, so a click is counted exactly when its webhook is queued.
  Later clicks still count and still report ``link_clicked``; the status advances once.
* ``HEAD`` is what link scanners and previewers send: it redirects the same way but counts
  and emits nothing.
* The query count is constant: one locked SELECT (link, message, process, event, tenant
  joined), one UPDATE, one SELECT of the process's recipients, and the fixed cost of
  ``record_status`` / ``emit``.
* ``Cache-Control: no-store`` so proxies and browsers come back for every click.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from doxie.core.views import not_found
from doxie.messaging.models import Message, MessageStatus, TrackedLink
from doxie.messaging.statuses import record_status
from doxie.webhooks.events import LinkClicked

_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: Messages of the process that never reached anyone are not "recipients who received it".
_NOT_RECEIVED = (MessageStatus.CANCELLED, MessageStatus.SUPPRESSED, MessageStatus.FAILED)


def is_redirectable(url: str) -> bool:
    """Only absolute http(s) URLs: never ``javascript:``, ``data:`` or a relative path."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _recipients(message: Message) -> str:
    found = (
        Message.objects.filter(process_id=message.process_id)
        .exclude(status__in=_NOT_RECEIVED)
        .order_by("id")
        .values_list("recipient", flat=True)
    )
    return ", ".join(dict.fromkeys([message.recipient, *found]))


@transaction.atomic
def record_click(token: str) -> TrackedLink | None:
    """Count a click on ``token`` and queue ``link_clicked``; None for an unknown token."""
    from doxie.webhooks.services import emit

    link = (
        TrackedLink.objects.select_for_update(of=("self",))
        .select_related("tenant", "message__process__event", "message__event")
        .filter(token=token)
        .first()
    )
    if link is None or not is_redirectable(link.url):
        return None
    now = timezone.now()
    first_click = link.first_clicked_at is None
    TrackedLink.objects.filter(pk=link.pk).update(
        clicks=F("clicks") + 1, first_clicked_at=Coalesce(F("first_clicked_at"), now),
        updated_at=now,
    )
    message = link.message
    if first_click:
        record_status(
            message, MessageStatus.CLICKED, source="doxie", occurred_at=now,
            detail={"url": link.url}, dedupe_key=f"click:{token}",
        )
    process = message.process
    event = message.event or process.event
    emit(tenant=link.tenant, event=LinkClicked(
        process_id=str(process.uuid),
        url=link.url,
        recipients=_recipients(message),
        original_tenant_slug=link.tenant.slug,
        original_event_slug=event.slug if event else None,
        timestamp=now,
        original_payload=process.original_payload,
    ))
    return link


def _redirect(url: str) -> HttpResponse:
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_http_methods(["GET", "HEAD"])
def click(request: HttpRequest, token: str) -> HttpResponse:
    """``GET /l/{token}``: count, report, 302. ``HEAD``: 302 only. Unknown: 404 page."""
    if not _TOKEN.fullmatch(token):
        return not_found(request)
    if request.method == "HEAD":
        url = TrackedLink.objects.filter(token=token).values_list("url", flat=True).first()
    else:
        link = record_click(token)
        url = link.url if link is not None else None
    if url is None or not is_redirectable(url):
        return not_found(request)
    return _redirect(url)
