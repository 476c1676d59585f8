"""A1–A16 authentication, permissions and tenant isolation, one matrix for every operation.

Permission outcomes are checked on a brand without provider credentials, so an allowed
provider operation stops at its own 422 (no provider is called) — what matters here is that
401/403/404 come first and never leak anything.
"""

from __future__ import annotations

import pytest

from doxie.brands.models import Brand
from tests.brands.payloads import make_bare_brand, minimal_body
from tests.helpers import basic_caller, make_admin_caller

READ, WRITE, BOTH = "read", "write", "read+write"

# (method, path after /brands, permission, body)
OPERATIONS = [
    ("get", "", READ, None),
    ("post", "", WRITE, minimal_body("new-brand")),
    ("get", "/{id}", READ, None),
    ("patch", "/{id}", WRITE, {"brand": {"name": "x"}}),
    ("put", "/{id}", WRITE, {"brand": {"name": "x"}}),
    ("delete", "/{id}", WRITE, None),
    ("get", "/{id}/mailjet_webhooks", READ, None),
    ("post", "/{id}/mailjet_webhooks", BOTH, None),
    ("delete", "/{id}/mailjet_webhooks", BOTH, None),
    ("get", "/{id}/rcs_webhook", READ, None),
    ("post", "/{id}/rcs_webhook", BOTH, None),
    ("delete", "/{id}/rcs_webhook", BOTH, None),
    ("get", "/{id}/sms_webhook", READ, None),
    ("post", "/{id}/sms_webhook", BOTH, None),
    ("delete", "/{id}/sms_webhook", BOTH, None),
    ("post", "/{id}/ses_setup", WRITE, None),
    ("post", "/{id}/smtp_test", WRITE, None),
]
IDS = [f"{m.upper()} {p or '/'}" for m, p, _, _ in OPERATIONS]
ON_A_BRAND = [op for op in OPERATIONS if "{id}" in op[1]]
ON_A_BRAND_IDS = [f"{m.upper()} {p}" for m, p, _, _ in ON_A_BRAND]


def _call(api, method, tenant_slug, path, brand_id, body, caller=None, headers=None):
    url = f"/api/v1/{tenant_slug}/admin/brands" + path.format(id=brand_id)
    kwargs = {"caller": caller, "headers": headers}
    if method in {"post", "patch", "put"}:
        return getattr(api, method)(url, body, **kwargs)
    return getattr(api, method)(url, **kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "permission", "body"), OPERATIONS, ids=IDS)
def test_unauthenticated_is_401(api, tenant, method, path, permission, body):
    brand = make_bare_brand(tenant)
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = _call(api, method, "acme", path, brand.id, body, headers=headers)
        assert response.status_code == 401
        assert "Bearer" in response["WWW-Authenticate"]
        assert response.json()["success"] is False
    basic = _call(api, method, "acme", path, brand.id, body, caller=basic_caller("a", "b"))
    assert basic.status_code == 401
    # Unknown tenants answer 401 first too: nothing tells whether the tenant exists.
    assert _call(api, method, "nope", path, brand.id, body).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "permission", "body"), OPERATIONS, ids=IDS)
def test_permissions(api, tenant, reader, writer_without_read, method, path, permission, body):
    brand = make_bare_brand(tenant)
    as_reader = _call(api, method, "acme", path, brand.id, body, caller=reader)
    as_writer = _call(api, method, "acme", path, brand.id, body, caller=writer_without_read)
    if permission == READ:
        assert as_reader.status_code in {200, 422}, as_reader.content
        assert as_writer.status_code == 403
        assert as_writer.json()["error"] == "No read permission"
    elif permission == WRITE:
        assert as_reader.status_code == 403
        assert as_reader.json()["error"] == "No write permission"
        assert as_writer.status_code in {200, 201, 422}, as_writer.content
    else:
        assert as_reader.status_code == 403
        assert as_reader.json()["error"] == "No write permission"
        assert as_writer.status_code == 403
        assert as_writer.json()["error"] == "No read permission"
        both = make_admin_caller(tenant)
        assert _call(api, method, "acme", path, brand.id, body, caller=both).status_code == 422


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "permission", "body"), ON_A_BRAND, ids=ON_A_BRAND_IDS)
def test_another_tenants_brand_is_404(api, admin, other_tenant, method, path, permission, body):
    foreign = make_bare_brand(other_tenant, slug="foreign")
    response = _call(api, method, "acme", path, foreign.id, body, caller=admin)
    assert response.status_code == 404
    assert response.json() == {
        "success": False, "message": None, "error": "Brand not found", "data": None,
    }
    foreign.refresh_from_db()
    assert foreign.name == "Brand foreign"


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "permission", "body"), OPERATIONS, ids=IDS)
def test_another_tenants_slug_is_404(api, admin, other_tenant, method, path, permission, body):
    foreign = make_bare_brand(other_tenant, slug="foreign")
    response = _call(api, method, "other", path, foreign.id, body, caller=admin)
    assert response.status_code == 404
    assert response.json()["success"] is False
    assert Brand.objects.filter(tenant=other_tenant).count() == 1


@pytest.mark.django_db
def test_list_shows_only_own_brands(api, admin, other_admin, tenant, other_tenant):
    make_bare_brand(tenant, slug="mine")
    make_bare_brand(other_tenant, slug="theirs")
    mine = api.get("/api/v1/acme/admin/brands", caller=admin).json()["data"]
    assert [b["slug"] for b in mine["brands"]] == ["mine"]
    assert mine["pagination"]["total_count"] == 1
    theirs = api.get("/api/v1/other/admin/brands", caller=other_admin).json()["data"]
    assert [b["slug"] for b in theirs["brands"]] == ["theirs"]
