from __future__ import annotations

from django.db.models import QuerySet

from doxie.tenants.models import ApiUser, Tenant


def api_users(tenant: Tenant) -> QuerySet[ApiUser]:
    return ApiUser.objects.filter(tenant=tenant).order_by("id")
