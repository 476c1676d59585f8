"""Admin UI for landing pages and layouts, with "Open editor" hosting the Puck bundle.

The editor page is a plain Django admin view: it loads only our own static files (strict
CSP, no CDN), and passes the E1/E4 URL and the CSRF token to the bundle in a JSON script
element. The bundle then talks to the editor API with this session (``EditorAuth``).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from doxie.core.admin_scoping import TenantScopedAdmin
from doxie.pages.models import Asset, LandingPage, LandingPageLayout

_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


class _EditorAdmin(TenantScopedAdmin):
    editor_kind = ""

    def get_urls(self):
        urls = super().get_urls()
        name = f"pages_{self.model._meta.model_name}_editor"
        extra = [path("<id:object_id>/editor/", self.admin_site.admin_view(self.editor_view),
                      name=name)]
        return extra + urls

    @admin.display(description="Editor")
    def open_editor(self, obj: Any) -> str:
        if obj is None or obj.pk is None:
            return "—"
        url = reverse(f"admin:pages_{self.model._meta.model_name}_editor", args=[obj.pk])
        return format_html('<a class="button" href="{}">Open editor</a>', url)

    def editor_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        obj = self.get_queryset(request).select_related("tenant").filter(pk=object_id).first()
        if obj is None or not self.has_change_permission(request, obj):
            raise Http404
        tenant = obj.tenant.slug
        load_url = f"/api/v1/{tenant}/admin/editor/{self.editor_kind}/{obj.pk}"
        response = TemplateResponse(request, "pages/editor.html", {
            **self.admin_site.each_context(request),
            "title": f"Editor: {obj}",
            "config": {"load_url": load_url, "csrf_token": get_token(request),
                       "nonce": secrets.token_hex(4)},
        })
        response["Content-Security-Policy"] = _CSP
        response["X-Frame-Options"] = "DENY"
        return response


@admin.register(LandingPageLayout)
class LandingPageLayoutAdmin(_EditorAdmin):
    editor_kind = "landing_page_layouts"
    list_display = ("name", "tenant", "brand", "version", "open_editor")
    fields = ("tenant", "brand", "name", "version", "open_editor")
    readonly_fields = ("version", "open_editor")


@admin.register(LandingPage)
class LandingPageAdmin(_EditorAdmin):
    editor_kind = "landing_pages"
    list_display = ("name", "slug", "tenant", "status", "version", "published_at", "open_editor")
    list_filter = ("status",)
    search_fields = ("name", "slug")
    fields = ("tenant", "brand", "layout", "name", "slug", "version", "status",
              "published_version", "published_at", "open_editor")
    readonly_fields = ("version", "status", "published_version", "published_at", "open_editor")


@admin.register(Asset)
class AssetAdmin(TenantScopedAdmin):
    list_display = ("uuid", "original_name", "mime_type", "size", "tenant", "created_at")
    readonly_fields = ("uuid", "original_name", "mime_type", "size", "file", "thumbnail",
                       "width", "height")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
