"""``doxie run``'s demo tenant: created once on an empty installation, never in production."""

from __future__ import annotations

import io

import pytest

from doxie.core.management.commands.run import Command as RunCommand
from doxie.tenants import demo
from doxie.tenants.models import ApiUser, Tenant


@pytest.mark.django_db
def test_production_creates_no_demo_tenant_and_prints_no_credentials(settings):
    settings.PRODUCTION = True
    assert demo.demo_allowed() is False
    assert demo.create_demo_tenant_if_empty() is None
    out = io.StringIO()
    command = RunCommand(stdout=out)
    command._demo_tenant("127.0.0.1", 8120)
    assert Tenant.objects.count() == 0 and ApiUser.objects.count() == 0
    assert "no demo tenant" in out.getvalue()
    assert "password" not in out.getvalue() and "client_secret" not in out.getvalue()


@pytest.mark.django_db
def test_development_creates_the_demo_tenant_once(settings):
    settings.PRODUCTION = False
    created = demo.create_demo_tenant_if_empty()
    assert created is not None and created["tenant"] == "demo"
    assert created["api_user"]["password"] and created["oauth_client"]["client_secret"]
    assert demo.create_demo_tenant_if_empty() is None  # a tenant exists now
    assert Tenant.objects.count() == 1

