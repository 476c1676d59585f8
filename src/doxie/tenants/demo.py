"""The demo tenant ``doxie run`` creates on a fresh installation."""

from __future__ import annotations

import secrets

from django.db import transaction

from doxie.tenants import services
from doxie.tenants.models import Tenant


@transaction.atomic
def create_demo_tenant_if_empty() -> dict | None:
    """Credentials of a new demo tenant, or None when any tenant exists already."""
    if Tenant.objects.select_for_update().exists():
        return None
    tenant = services.create_tenant(slug="demo", name="Demo tenant")
    password = f"Demo-{secrets.token_urlsafe(12)}1a!"
    services.create_api_user(
        tenant=tenant, username="demo-api", password=password, password_confirmation=password
    )
    client = services.create_oauth_client(tenant=tenant, scopes=["read", "write"])
    return {
        "tenant": tenant.slug,
        "api_user": {"username": "demo-api", "password": password},
        "oauth_client": {"client_id": client.client_id, "client_secret": client.client_secret},
    }
