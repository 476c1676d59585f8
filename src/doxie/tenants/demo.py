"""The demo tenant ``doxie run`` creates on a fresh installation — never in production.

A production instance must not come up with a tenant whose credentials were printed to a
console (and so to whatever collects its logs); its tenants are made on purpose with
``doxie create_tenant``, ``create_api_user`` and ``create_oauth_client``. The decision is
made here, not in the command, so every caller gets it.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction

from doxie.tenants import services
from doxie.tenants.models import Tenant


def demo_allowed() -> bool:
    """Only outside production (``DOXIE_ENV`` other than ``production``)."""
    return not settings.PRODUCTION


@transaction.atomic
def create_demo_tenant_if_empty() -> dict | None:
    """Credentials of a new demo tenant, or None in production or when any tenant exists."""
    if not demo_allowed():
        return None
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
