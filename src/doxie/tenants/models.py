"""Tenants, who may act for them (memberships) and the public API's credentials."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from oauth2_provider.settings import oauth2_settings

from doxie.core.models import TimeStamped


class Tenant(TimeStamped):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    activated_at = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="Europe/Berlin")
    webhook_interaction_storage_duration_in_days = models.PositiveIntegerField(default=7)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Membership(TimeStamped):
    """A person or service user acting for a tenant through the admin API or admin UI."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    can_read = models.BooleanField(default=True)
    can_write = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="uniq_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant}"


class ApiUser(TimeStamped):
    """Credentials for HTTP Basic on the public API; the password is an argon2 hash."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_users")
    username = models.CharField(max_length=150)
    password_hash = models.CharField(max_length=255)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "username"], name="uniq_api_username")
        ]

    def __str__(self) -> str:
        return f"{self.username} @ {self.tenant_id}"


class OAuthClient(TimeStamped):
    """A tenant's OAuth2 client: which tenant it acts for and the scopes it may be issued.

    Kept beside django-oauth-toolkit's application (one-to-one) rather than swapping its
    application model, which cannot be done on an existing database. The scopes backend
    (``tenants.oauth.ClientScopes``) reads it when issuing tokens.
    """

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="doxie_client"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="oauth_clients")
    scopes = models.CharField(max_length=100, help_text="space-separated allowed scopes")

    def __str__(self) -> str:
        return f"{self.application_id} @ {self.tenant_id}: {self.scopes}"

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()
