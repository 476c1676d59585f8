"""Admin reads: ``GET /admin/qr_codes`` (paginated, by event) and ``GET /admin/qr_codes/{uuid}``."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.qrcodes.support import BROWSER_UA, PUBLIC_URL, TARGET, make_code, make_qr_event

LIST = "/api/v1/acme/admin/qr_codes"


@pytest.mark.django_db
def test_show_code_with_counters(api, admin, tenant, qr_event):
    code = make_code(tenant)
    Client(HTTP_USER_AGENT=BROWSER_UA).get(f"/qr/{code.uuid}")
    Client(HTTP_USER_AGENT="Googlebot/2.1 (+http://www.google.com/bot.html)").get(
        f"/qr/{code.uuid}")
    response = api.get(f"{LIST}/{code.uuid}", caller=admin)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"success", "message", "error", "data"}
    data = body["data"]
    assert data["uuid"] == str(code.uuid)
    assert data["process_uuid"] == str(code.process.uuid)
    assert (data["event_slug"], data["target_url"], data["status"]) == ("flyer", TARGET,
                                                                         "active")
    assert data["url"] == f"{PUBLIC_URL}/qr/{code.uuid}"
    scans = data["scans"]
    assert (scans["total"], scans["human"], scans["bots"]) == (2, 1, 1)
    assert scans["first_scan_at"].endswith("Z") and scans["last_scan_at"].endswith("Z")
    assert data["valid_until"].endswith("Z")


@pytest.mark.django_db
def test_list_paginated_and_filtered_by_event(api, reader, tenant, qr_event):
    make_qr_event(tenant, "poster", brand=qr_event.brand)
    codes = [make_code(tenant) for _ in range(3)] + [make_code(tenant, "poster")]
    response = api.get(f"{LIST}?limit=2&page=1", caller=reader)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["pagination"] == {"current_page": 1, "items_per_page": 2, "total_pages": 2,
                                  "total_count": 4}
    assert [c["uuid"] for c in data["qr_codes"]] == [str(codes[3].uuid), str(codes[2].uuid)]
    flyers = api.get(f"{LIST}?event_slug=flyer", caller=reader).json()["data"]
    assert {c["uuid"] for c in flyers["qr_codes"]} == {str(c.uuid) for c in codes[:3]}
    assert api.get(f"{LIST}?event_slug=none", caller=reader).json()["data"]["qr_codes"] == []


@pytest.mark.django_db
def test_list_query_count_is_constant(api, reader, tenant, qr_event):
    for _ in range(3):
        make_code(tenant)
    with CaptureQueriesContext(connection) as few:
        api.get(LIST, caller=reader)
    for _ in range(10):
        make_code(tenant)
    with CaptureQueriesContext(connection) as many:
        assert len(api.get(LIST, caller=reader).json()["data"]["qr_codes"]) == 13
    assert len(many) == len(few)


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "page=0", "limit=x"])
def test_list_validation(api, reader, qr_event, query):
    response = api.get(f"{LIST}?{query}", caller=reader)
    assert response.status_code == 422
    assert response.json()["success"] is False


@pytest.mark.django_db
def test_auth_and_permission(api, writer_without_read, api_caller, tenant, qr_event):
    code = make_code(tenant)
    for path in (LIST, f"{LIST}/{code.uuid}"):
        assert api.get(path).status_code == 401
        assert api.get(path, caller=api_caller).status_code == 401  # basic auth is not OAuth
        denied = api.get(path, caller=writer_without_read)
        assert denied.status_code == 403
        assert denied.json()["error"] == "No read permission"


@pytest.mark.django_db
def test_tenant_isolation(api, admin, other_admin, tenant, other_tenant, qr_event):
    code = make_code(tenant)
    # The other tenant's admin on our path: not a member, so the tenant is unknown ...
    assert api.get(f"{LIST}/{code.uuid}", caller=other_admin).status_code == 404
    # ... and on their own path our code does not exist.
    other = api.get(f"/api/v1/other/admin/qr_codes/{code.uuid}", caller=other_admin)
    assert other.status_code == 404
    listing = api.get("/api/v1/other/admin/qr_codes", caller=other_admin).json()["data"]
    assert listing["qr_codes"] == [] and listing["pagination"]["total_count"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_code_404(api, admin, qr_event, raw):
    response = api.get(f"{LIST}/{raw}", caller=admin)
    assert response.status_code == 404
    assert response.json()["success"] is False


@pytest.mark.django_db
def test_status_reflects_cancellation(api, admin, tenant, qr_event):
    from doxie.processes import services

    code = make_code(tenant)
    services.cancel_process(tenant=tenant, process_uuid=str(code.process.uuid))
    data = api.get(f"{LIST}/{code.uuid}", caller=admin).json()["data"]
    assert data["status"] == "cancelled" and data["cancelled_at"].endswith("Z")
