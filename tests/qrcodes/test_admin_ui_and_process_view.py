"""Admin UI pages for QR codes (tenant-scoped, preview image, scans read-only) and the
``qr_code`` part of the process view."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from doxie.qrcodes.models import QrEventConfig, QrScan
from doxie.tenants import services as tenant_services
from tests.helpers import PASSWORD
from tests.qrcodes.support import BROWSER_UA, make_code, make_qr_event


@pytest.fixture
def staff(tenant):
    user, _ = tenant_services.create_admin(
        tenant=tenant, username="alice", email="a@example.com", can_read=True, can_write=True,
        password=PASSWORD,
    )
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="qrcodes",
        codename__in=["view_qreventconfig", "change_qreventconfig", "view_qrcode",
                      "view_qrscan"],
    ))
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    return client


@pytest.mark.django_db
def test_admin_pages_scoped_with_preview_and_read_only_scans(staff, tenant, other_tenant):
    make_qr_event(tenant, "flyer-mine")
    make_qr_event(other_tenant, "flyer-theirs")
    mine = make_code(tenant, "flyer-mine")
    theirs = make_code(other_tenant, "flyer-theirs")
    Client(HTTP_USER_AGENT=BROWSER_UA).get(f"/qr/{mine.uuid}")

    events = staff.get("/admin/qrcodes/qreventconfig/").content.decode()
    assert "flyer-mine" in events and "flyer-theirs" not in events
    config = QrEventConfig.objects.get(tenant=tenant)
    page = staff.get(f"/admin/qrcodes/qreventconfig/{config.id}/change/")
    assert page.status_code == 200
    assert 'src="data:image/svg+xml;base64,' in page.content.decode()

    codes = staff.get("/admin/qrcodes/qrcode/").content.decode()
    assert str(mine.uuid) in codes and str(theirs.uuid) not in codes
    detail = staff.get(f"/admin/qrcodes/qrcode/{mine.id}/change/")
    assert detail.status_code == 200 and "data:image/svg+xml" in detail.content.decode()
    assert staff.get(f"/admin/qrcodes/qrcode/{theirs.id}/change/").status_code in (302, 404)
    assert staff.get("/admin/qrcodes/qrcode/add/").status_code == 403

    scan = QrScan.objects.get()
    assert staff.get(f"/admin/qrcodes/qrscan/{scan.id}/change/").status_code == 200
    assert staff.post(f"/admin/qrcodes/qrscan/{scan.id}/delete/").status_code == 403


@pytest.mark.django_db
def test_settings_form_applies_the_config_rules(staff, tenant):
    event = make_qr_event(tenant)
    config = QrEventConfig.objects.get(event=event)
    response = staff.post(f"/admin/qrcodes/qreventconfig/{config.id}/change/", {
        "tenant": tenant.id, "event": event.id, "target_url": "javascript:alert(1)",
        "dark": "#000000", "light": "#000000", "error_correction": "m", "border": 4,
    })
    assert response.status_code == 200  # the form again, with errors
    html = response.content.decode()
    assert "must be an absolute http or https URL" in html and "must differ" in html
    config.refresh_from_db()
    assert config.target_url.startswith("https://")


@pytest.mark.django_db
def test_process_view_shows_the_code_and_its_scans(api, admin, tenant, qr_event):
    code = make_code(tenant)
    Client(HTTP_USER_AGENT=BROWSER_UA).get(f"/qr/{code.uuid}")
    Client(HTTP_USER_AGENT="Googlebot/2.1").get(f"/qr/{code.uuid}")
    response = api.get(f"/api/v1/acme/admin/processes/{code.process.uuid}", caller=admin)
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["kind"] == "qr"
    described = data["details"]["qr_code"]
    assert described["uuid"] == str(code.uuid) and described["status"] == "active"
    assert described["scans"]["total"] == 2 and described["scans"]["bots"] == 1
    assert [s["potential_bot"] for s in described["latest_scans"]] == [True, False]
    assert "ip" not in described["latest_scans"][0]
