"""What every provider callback does once parsed: find our message, apply its status, suppress.

The provider modules (``mailjet``, ``ses``, ``seven``) only translate wire formats into
:class:`StatusReport` values; this module owns the writes, so the rules hold for every
provider alike:

* messages are looked up inside the brand the callback URL belongs to (a token of brand A can
  never touch brand B's or another tenant's messages), by OUR id first (``public_id``, echoed
  by the provider as CustomID / tag / foreign_id), then by the provider's id;
* statuses go through :func:`doxie.messaging.statuses.record_status` only — it appends the
  history row, dedupes on the provider event identity, never regresses and emits
  ``message_status_update``;
* one callback is one transaction: rows, suppressions and webhook rows commit together or not
  at all, so a provider retry after a crash replays cleanly;
* unknown messages are logged and skipped: providers report on every message of the account,
  including mail other systems sent, and retrying those would never succeed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.db import IntegrityError, transaction

from doxie.brands.models import Brand
from doxie.core.db import savepoint
from doxie.inbound.models import InboundReceipt
from doxie.messaging.models import Message, Suppression
from doxie.messaging.statuses import record_status

log = logging.getLogger("doxie.inbound")

#: Columns needed to match and report; bodies (html/text) stay in the database.
_MATCH_FIELDS = ("id", "public_id", "provider_message_id", "tenant_id", "brand_id", "recipient")


class Rejected(Exception):
    """The callback is refused with ``status`` (400 malformed, 403 forged, 502 upstream)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class StatusReport:
    """One provider event, translated: which message, which of our statuses, and when."""

    status: str
    occurred_at: datetime
    dedupe_key: str
    public_id: uuid.UUID | None = None
    provider_id: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    # Addresses to put on the tenant's suppression list (hard bounce, spam complaint).
    suppress: tuple[str, ...] = ()
    suppress_reason: str = ""


def _ascii_digits(text: str) -> bool:
    """``str.isdigit()`` is true for ``¹`` and ``①`` too, which ``float()`` then rejects."""
    return text.isascii() and text.isdigit()


def as_uuid(value: Any) -> uuid.UUID | None:
    """Our id from a provider field: a bare UUID or a Message-ID ``<uuid@domain>``."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().removeprefix("<").removesuffix(">").split("@", 1)[0]
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def parse_time(value: Any, *, naive_tz: tzinfo = UTC) -> datetime | None:
    """A provider time stamp as an aware UTC datetime, or None when absent or unreadable.

    Accepts unix seconds (int, float or digit string; milliseconds are recognised by size)
    and ISO 8601 with or without an offset; naive values are read in ``naive_tz``.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and _ascii_digits(value.strip().replace(".", "", 1)):
        value = float(value)
    if isinstance(value, int | float):
        seconds = float(value) / 1000 if value > 100_000_000_000 else float(value)
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_tz)
    return parsed.astimezone(UTC)


def match_messages(brand: Brand, reports: Sequence[StatusReport]) -> list[Message | None]:
    """The message of each report (None when unknown), in two queries for a whole batch."""
    public_ids = {r.public_id for r in reports if r.public_id is not None}
    by_public: dict[uuid.UUID, Message] = {}
    if public_ids:
        rows = Message.objects.filter(brand=brand, public_id__in=public_ids).only(*_MATCH_FIELDS)
        by_public = {m.public_id: m for m in rows}
    wanted = {
        r.provider_id for r in reports
        if r.provider_id and (r.public_id is None or r.public_id not in by_public)
    }
    by_provider: dict[str, Message] = {}
    if wanted:
        rows = (
            Message.objects.filter(brand=brand, provider_message_id__in=wanted)
            .only(*_MATCH_FIELDS)
            .order_by("id")
        )
        by_provider = {m.provider_message_id: m for m in rows}  # the latest send wins
    return [
        by_public.get(r.public_id) if r.public_id in by_public else by_provider.get(r.provider_id)
        for r in reports
    ]


def normalise_address(address: str) -> str:
    """Email addresses compare case-insensitively; phone numbers without blanks."""
    address = address.strip()
    return address.lower() if "@" in address else address.replace(" ", "")


def suppress(*, message: Message, addresses: Iterable[str], reason: str) -> int:
    """Add addresses to the message's tenant suppression list; existing entries are kept.

    ``ON CONFLICT DO NOTHING``: a duplicated or concurrent callback neither fails nor
    overwrites the first reason.
    """
    rows = [
        Suppression(
            tenant_id=message.tenant_id, address=normalise_address(a)[:320], reason=reason[:64],
            source_message_id=message.id,
        )
        for a in dict.fromkeys(a for a in addresses if isinstance(a, str) and a.strip())
    ]
    if rows:
        Suppression.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


@transaction.atomic
def apply_reports(brand: Brand, reports: Sequence[StatusReport], *, source: str) -> int:
    """Apply a callback's reports in one transaction; returns how many statuses advanced.

    Reports are applied in (message id, occurred_at) order: every callback then locks
    message rows in the same order (two concurrent batches cannot deadlock), and one
    message's events are applied — and its webhooks emitted — in the order they happened,
    whatever order the provider batched them in.
    """
    matched: list[tuple[StatusReport, Message]] = []
    for report, message in zip(reports, match_messages(brand, reports), strict=True):
        if message is None:
            log.info(
                "%s %s event for unknown message (ours %s, provider %s) of brand %s skipped",
                source, report.status, report.public_id, report.provider_id or "-", brand.pk,
            )
            continue
        matched.append((report, message))
    matched.sort(key=lambda pair: (pair[1].id, pair[0].occurred_at))
    advanced = 0
    for report, message in matched:
        if record_status(
            message, report.status, source=source, occurred_at=report.occurred_at,
            detail=report.detail, dedupe_key=report.dedupe_key,
        ):
            advanced += 1
        if report.suppress:
            suppress(message=message, addresses=report.suppress, reason=report.suppress_reason)
    return advanced


def claim_receipt(*, brand: Brand, key: str, message: Message) -> bool:
    """Remember a non-status provider event; False when it was seen before (a duplicate).

    Call inside the transaction that acts on the event, so the receipt and its effect
    commit together.
    """
    try:
        with savepoint():
            InboundReceipt.objects.create(
                tenant_id=brand.tenant_id, brand=brand, key=key[:255], message=message
            )
    except IntegrityError:
        return False
    return True
