"""QR code use cases: create a code (P6), cancel a process's codes (P7), and the
``qr_code_scanned`` payload the notifier sends for a recorded scan.

The scan itself (the hot public path) lives in ``scanning``; turning pending scans into
webhook deliveries in batches lives in ``tasks``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from doxie.core.errors import FieldError, Invalid
from doxie.core.timefmt import isoformat_z
from doxie.processes import selectors as process_selectors
from doxie.processes import services as process_services
from doxie.processes.models import EventKind, ProcessKind
from doxie.qrcodes import config
from doxie.qrcodes.models import QrCode, QrEventConfig, QrScan, ScanStatus
from doxie.tenants.models import Tenant
from doxie.webhooks.events import QrCodeScanned

#: Keys of the P6 payload that override the event's defaults (the rest is free-form).
OVERRIDES = ("target_url", "valid_until")


def iso(value: datetime | None) -> str | None:
    return isoformat_z(value) if value is not None else None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_valid_until(raw: Any, now: datetime) -> datetime | None:
    """``valid_until`` of the payload: ISO 8601 with a zone, in the future, or null."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise Invalid.one("valid_until", "must be an ISO 8601 date-time with a time zone, "
                                         "or null")
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise Invalid.one("valid_until", "must be an ISO 8601 date-time with a time zone, "
                                         "e.g. 2026-12-31T23:59:59Z") from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid.one("valid_until", "must include a time zone (Z or +01:00)")
    if value <= now:
        raise Invalid.one("valid_until", "must be in the future")
    return value.astimezone(UTC)


def _check_payload(event: Any, qr: QrEventConfig | None, payload: dict[str, Any]) -> None:
    if event.kind != EventKind.QR:
        raise Invalid.one(
            "event_slug",
            f"event '{event.slug}' is a {event.kind} event; QR codes are made for qr events",
        )
    problems = [
        FieldError(name, "is required")
        for name in event.required_parameters if _blank(payload.get(name))
    ]
    if problems:
        raise Invalid(problems, message="Missing required parameters: "
                      + ", ".join(p.field for p in problems))
    if "target_url" in payload or not (qr and qr.target_url):
        if "target_url" not in payload:
            raise Invalid.one("target_url", "is required: the event has no default target")
        if problem := config.url_problem(payload["target_url"]):
            raise Invalid.one("target_url", problem)


@transaction.atomic
def create_code(*, tenant: Tenant, event_slug: str, payload: dict[str, Any]) -> QrCode:
    """P6: a Process (kind ``qr``) and its code in one transaction.

    ``target_url`` and ``valid_until`` in the payload override the event's ``qr`` defaults;
    the whole payload is kept as the process's original payload (the webhook's
    ``original_payload``).
    """
    event = process_selectors.get_event(tenant, event_slug)
    qr = QrEventConfig.objects.filter(event=event).first()
    _check_payload(event, qr, payload)
    now = timezone.now()
    if "valid_until" in payload:
        valid_until = parse_valid_until(payload["valid_until"], now)
    elif qr is not None and qr.valid_for_days:
        valid_until = (now + timedelta(days=qr.valid_for_days)).replace(microsecond=0)
    else:
        valid_until = None
    process = process_services.create_process(
        tenant=tenant, kind=ProcessKind.QR, event=event, original_payload=payload
    )
    return QrCode.objects.create(
        tenant=tenant, process=process, event=event,
        target_url=payload.get("target_url") or qr.target_url,  # type: ignore[union-attr]
        expired_url=qr.expired_url if qr is not None else "",
        valid_until=valid_until, style=config.style_of(qr),
        store_full_ip=qr.store_full_ip if qr is not None else False,
    )


def cancel_qr_process(*, process: Any, at: datetime) -> dict[str, int]:
    """P7's canceller for QR processes (registered in ``QrcodesConfig.ready``): the code
    answers 410 (or ``expired_url``) from now on. Runs inside the cancel transaction."""
    cancelled = QrCode.objects.filter(process=process, cancelled_at__isnull=True).update(
        cancelled_at=at, updated_at=at
    )
    return {"qr_codes": cancelled}


def status_of(code: QrCode, now: datetime | None = None) -> str:
    """``active``, ``expired`` (past ``valid_until``) or ``cancelled`` (P7)."""
    if code.cancelled_at is not None:
        return ScanStatus.CANCELLED
    if code.valid_until is not None and code.valid_until <= (now or timezone.now()):
        return ScanStatus.EXPIRED
    return ScanStatus.ACTIVE


def scanned_event(scan: QrScan, code: QrCode, process: Any) -> QrCodeScanned:
    """The seed's ``qr_code_scanned`` for one scan (``original_payload`` goes only to the
    endpoints that ask for it). A cancelled code reports ``expired``."""
    return QrCodeScanned(
        process_id=str(process.uuid),
        target_url=code.target_url,
        valid_until=code.valid_until,
        qr_code_uuid=str(code.uuid),
        timestamp=scan.scanned_at,
        status="active" if scan.status == ScanStatus.ACTIVE else "expired",
        original_payload=process.original_payload,
    )
