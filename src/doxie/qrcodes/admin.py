"""Admin UI for QR codes: QR event settings (with a preview of a code in that style), the
codes with their counters and image, and the scans (read-only: they are a record).

Tenant-scoped like the rest of the admin (``core.admin_scoping``); the settings form applies
the same rules as ``apply_config``.
"""

from __future__ import annotations

import base64
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from doxie.core.admin_scoping import TenantScopedAdmin, member_tenant_ids
from doxie.qrcodes import config, images
from doxie.qrcodes.models import QrCode, QrEventConfig, QrScan

PREVIEW_URL = "https://doxie.example/qr/preview"


def _preview(style: images.Style, url: str = PREVIEW_URL) -> str:
    svg = images.render(url, style, 160, "svg")
    data = base64.b64encode(svg).decode()
    return format_html('<img src="data:image/svg+xml;base64,{}" width="160" height="160" '
                       'alt="QR code preview">', data)


class QrEventConfigForm(forms.ModelForm):
    class Meta:
        model = QrEventConfig
        fields = "__all__"
        help_texts = {
            "target_url": "Default target of new codes (http/https); P6 may override it.",
            "valid_for_days": "Validity of new codes in days; empty: no expiry.",
            "expired_url": "Where expired or cancelled codes redirect; empty: a 410 page.",
            "store_full_ip": "Store scanners' full IP addresses (else /24 or /48 only).",
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        event, tenant = cleaned.get("event"), cleaned.get("tenant")
        if event is not None and event.kind != config.QR_KIND:
            self.add_error("event", "Only events of kind qr have QR settings.")
        if event is not None and tenant is not None and event.tenant_id != tenant.id:
            self.add_error("event", "The event belongs to another tenant.")
        for name in ("target_url", "expired_url"):
            value = cleaned.get(name)
            if value and (problem := config.url_problem(value)):
                self.add_error(name, f"The URL {problem}.")
        style = {key: cleaned.get(key) for key in ("dark", "light", "error_correction",
                                                    "border") if cleaned.get(key) is not None}
        for problem in config.style_problems("style", style):
            self.add_error(None, problem)
        return cleaned


@admin.register(QrEventConfig)
class QrEventConfigAdmin(TenantScopedAdmin):
    form = QrEventConfigForm
    list_display = ("event", "target_url", "valid_for_days", "tenant", "preview")
    search_fields = ("event__slug", "target_url")
    readonly_fields = ("preview", "created_at", "updated_at")
    list_select_related = ("event", "tenant")

    @admin.display(description="Preview")
    def preview(self, obj: QrEventConfig) -> str:
        if obj.pk is None:
            return "Saved settings show a preview here."
        return _preview(images.Style.of(config.style_of(obj)))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "event":
            from doxie.processes.models import Event

            events = Event.objects.filter(kind=config.QR_KIND)
            if not request.user.is_superuser:
                events = events.filter(tenant_id__in=member_tenant_ids(request))
            kwargs["queryset"] = events
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class _ReadOnly(TenantScopedAdmin):
    """A record: viewable, never edited through the UI."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ScanInline(admin.TabularInline):
    model = QrScan
    fields = ("scanned_at", "status", "potential_bot", "link_preview", "ip", "user_agent",
              "referrer")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-scanned_at",)

    def get_queryset(self, request: HttpRequest):
        # The latest scans only: a poster's code may have been scanned a million times.
        ids = list(super().get_queryset(request).order_by("-scanned_at", "-id")
                   .values_list("id", flat=True)[:50])
        return super().get_queryset(request).filter(id__in=ids)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(QrCode)
class QrCodeAdmin(_ReadOnly):
    list_display = ("uuid", "event", "target_url", "valid_until", "scans_total",
                    "scans_human", "scans_bot", "last_scan_at", "tenant")
    list_filter = ("event",)
    search_fields = ("=uuid", "target_url")
    list_select_related = ("event", "tenant")
    readonly_fields = ("image",)
    inlines = (ScanInline,)

    @admin.display(description="Image")
    def image(self, obj: QrCode) -> str:
        return _preview(images.Style.of(obj.style), images.scan_url(str(obj.uuid)))


@admin.register(QrScan)
class QrScanAdmin(_ReadOnly):
    list_display = ("scanned_at", "code", "status", "potential_bot", "link_preview", "ip",
                    "tenant")
    list_filter = ("status", "potential_bot", "link_preview")
    search_fields = ("=code__uuid",)
    list_select_related = ("code", "tenant")
