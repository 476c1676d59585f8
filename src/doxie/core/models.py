"""Base classes every domain table builds on, and the shared rate-limit counters."""

from __future__ import annotations

from django.db import models


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TenantScopedManager(models.Manager):
    """``Model.objects.for_tenant(t)``: the only way domain code should start a query."""

    def for_tenant(self, tenant):  # noqa: ANN001 - tenant model lives in another app
        return self.get_queryset().filter(tenant=tenant)


class TenantOwned(TimeStamped):
    """Every domain row carries its tenant: isolation in queries and the future shard key."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")

    objects = TenantScopedManager()

    class Meta:
        abstract = True


class RateCounter(models.Model):
    """A fixed-window counter in the database, so every web process sees the same limits."""

    key = models.CharField(max_length=255, primary_key=True)
    window_start = models.DateTimeField()
    count = models.IntegerField(default=0)

    class Meta:
        db_table = "core_rate_counter"
