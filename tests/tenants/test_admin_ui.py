"""The Django admin shows a staff member only the tenants they are a member of."""

from __future__ import annotations

import pytest
from django.test import Client

from doxie.tenants import services
from tests.helpers import PASSWORD


@pytest.mark.django_db
def test_staff_sees_only_member_tenants(tenant, other_tenant):
    services.create_api_user(tenant=tenant, username="mine", password=PASSWORD,
                             password_confirmation=PASSWORD)
    services.create_api_user(tenant=other_tenant, username="theirs", password=PASSWORD,
                             password_confirmation=PASSWORD)
    services.create_admin(tenant=tenant, username="alice", email="a@example.com",
                          can_read=True, can_write=True, password=PASSWORD)
    client = Client()
    assert client.login(username="alice", password=PASSWORD)

    tenants_page = client.get("/admin/tenants/tenant/").content.decode()
    assert "acme" in tenants_page and "other" not in tenants_page
    users_page = client.get("/admin/tenants/apiuser/").content.decode()
    assert "mine" in users_page and "theirs" not in users_page
    assert "argon2" not in users_page
    assert client.get(f"/admin/tenants/tenant/{other_tenant.id}/change/").status_code in (302, 404)


@pytest.mark.django_db
def test_admin_static_assets_are_served():
    assert Client().get("/static/admin/css/base.css").status_code == 200
