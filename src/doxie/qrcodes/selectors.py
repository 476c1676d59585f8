"""Reads of QR codes and scans; the tenant is the first argument wherever there is one."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from doxie.core.errors import NotFound
from doxie.qrcodes.models import QrCode, QrScan

#: Scans the process view lists (the counters cover all of them).
DESCRIBED_SCANS = 20

if TYPE_CHECKING:
    from doxie.tenants.models import Tenant


def codes(tenant: Tenant, event_slug: str | None = None) -> QuerySet[QrCode]:
    queryset = (
        QrCode.objects.for_tenant(tenant).select_related("event", "process").order_by("-id")
    )
    if event_slug:
        queryset = queryset.filter(event__slug=event_slug)
    return queryset


def get_code(tenant: Tenant, code_uuid: str) -> QrCode:
    """The tenant's code, or 404 (malformed, unknown and another tenant's alike)."""
    try:
        parsed = uuid.UUID(str(code_uuid))
    except ValueError:
        raise NotFound("QR code not found") from None
    code = codes(tenant).filter(uuid=parsed).first()
    if code is None:
        raise NotFound("QR code not found")
    return code


def recent_scans(code: QrCode, limit: int = 50) -> list[QrScan]:
    return list(QrScan.objects.filter(code=code).order_by("-scanned_at", "-id")[:limit])


def image_style(code_uuid: uuid.UUID) -> dict[str, Any] | None:
    """The printed style of a code, or None when there is no such code (one query)."""
    return QrCode.objects.filter(uuid=code_uuid).values_list("style", flat=True).first()


def page_brand(event_id: int) -> Any:
    """The brand (with its style) whose look the code's fallback page takes."""
    from doxie.brands.models import Brand

    return Brand.objects.select_related("style").filter(events__id=event_id).first()


def describe_process_code(process: Any) -> dict[str, Any] | None:
    """The process view's ``qr_code``: the code with its counters and its latest scans
    (two queries, however often it was scanned). IPs and user agents are not shown."""
    from doxie.qrcodes.services import status_of

    code = QrCode.objects.filter(tenant_id=process.tenant_id, process_id=process.pk).first()
    if code is None:
        return None
    return {
        "uuid": str(code.uuid), "target_url": code.target_url,
        "valid_until": code.valid_until, "status": status_of(code),
        "cancelled_at": code.cancelled_at,
        "scans": {"total": code.scans_total, "human": code.scans_human,
                  "bots": code.scans_bot, "first_scan_at": code.first_scan_at,
                  "last_scan_at": code.last_scan_at},
        "latest_scans": [
            {"scanned_at": s.scanned_at, "status": s.status, "potential_bot": s.potential_bot,
             "link_preview": s.link_preview}
            for s in QrScan.objects.filter(code=code).order_by("-scanned_at", "-id")
            .only("scanned_at", "status", "potential_bot", "link_preview")[:DESCRIBED_SCANS]
        ],
    }
