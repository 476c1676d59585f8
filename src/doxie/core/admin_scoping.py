"""Admin UI isolation: a staff member sees only rows of tenants they are a member of."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest


def member_tenant_ids(request: HttpRequest) -> list[int]:
    from doxie.tenants.models import Membership

    return list(
        Membership.objects.filter(user=request.user).values_list("tenant_id", flat=True)
    )


class TenantScopedAdmin(admin.ModelAdmin):
    """For models with a ``tenant`` foreign key (``tenant_field`` to change the lookup)."""

    tenant_field = "tenant"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.tenant_field}__in": member_tenant_ids(request)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "tenant" and not request.user.is_superuser:
            from doxie.tenants.models import Tenant

            kwargs["queryset"] = Tenant.objects.filter(id__in=member_tenant_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
