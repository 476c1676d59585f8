"""Admin UI for processes: read-only (a process is a record of what an API call started).

Events are edited in messaging's admin, together with their templates."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from doxie.core.admin_scoping import TenantScopedAdmin
from doxie.processes.models import Process


@admin.register(Process)
class ProcessAdmin(TenantScopedAdmin):
    list_display = ("uuid", "kind", "status", "event", "tenant", "created_at")
    list_filter = ("kind", "status")
    search_fields = ("=uuid",)
    list_select_related = ("event", "tenant")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
