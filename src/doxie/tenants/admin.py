from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from doxie.core.admin_scoping import TenantScopedAdmin, member_tenant_ids
from doxie.tenants.models import ApiUser, Membership, Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "time_zone", "activated_at", "created_at")
    search_fields = ("slug", "name")
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(id__in=member_tenant_ids(request))


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ("user", "tenant", "can_read", "can_write")
    list_filter = ("can_read", "can_write")


@admin.register(ApiUser)
class ApiUserAdmin(TenantScopedAdmin):
    list_display = ("username", "tenant", "created_at")
    search_fields = ("username",)
    # The hash is never shown: passwords are set through the API or `doxie create_api_user`.
    exclude = ("password_hash",)
    readonly_fields = ("username", "tenant", "created_at", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
