"""``apply_config`` with QR events (the real CLI), P7 through the API, and scan retention."""

from __future__ import annotations

import textwrap
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from doxie.brands.models import Brand
from doxie.messaging.privacy import pseudonym
from doxie.qrcodes import tasks
from doxie.qrcodes.models import QrCode, QrEventConfig, QrScan
from tests.helpers import make_tenant, run_doxie
from tests.qrcodes.support import BROWSER_UA, make_brand, make_code

CONFIG = textwrap.dedent("""\
    events:
      - slug: flyer
        kind: qr
        brand: example-brand
        parameters: [{name: campaign}]
        qr:
          target_url: https://example.com/angebot
          valid_for_days: 30
          expired_url: https://example.com/abgelaufen
          style: {dark: "#111111", light: "#ffffff", error_correction: q, border: 2}
""")


@pytest.mark.django_db(transaction=True)
def test_apply_config_creates_updates_and_is_idempotent(tmp_path):
    tenant = make_tenant("acme")
    make_brand(tenant)
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)

    first = run_doxie("apply_config", "acme", str(path))
    assert first.returncode == 0, first.stderr
    assert "event 'flyer': qr settings created" in first.stdout
    config = QrEventConfig.objects.get(event__slug="flyer")
    assert (config.target_url, config.valid_for_days, config.expired_url) == (
        "https://example.com/angebot", 30, "https://example.com/abgelaufen")
    assert (config.dark, config.error_correction, config.border) == ("#111111", "q", 2)

    again = run_doxie("apply_config", "acme", str(path))
    assert again.returncode == 0 and again.stdout.strip() == "no changes"

    path.write_text(CONFIG.replace("valid_for_days: 30", "valid_for_days: 7"))
    changed = run_doxie("apply_config", "acme", str(path))
    assert "qr settings updated (valid_for_days)" in changed.stdout
    assert QrEventConfig.objects.get().valid_for_days == 7


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("qr,message", [
    ("{target_url: 'javascript:alert(1)'}", "qr.target_url"),
    ("{valid_for_days: 0}", "qr.valid_for_days"),
    ("{style: {dark: red}}", "qr.style.dark"),
    ("{style: {error_correction: x}}", "qr.style.error_correction"),
    ("{style: {border: 99}}", "qr.style.border"),
    ("{colour: blue}", "unknown key 'colour'"),
    ("[1]", "'qr' must be a mapping"),
])
def test_apply_config_rejects_bad_qr_sections(tmp_path, qr, message):
    tenant = make_tenant("acme")
    make_brand(tenant)
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(f"""\
        events:
          - slug: flyer
            kind: qr
            brand: example-brand
            qr: {qr}
    """))
    result = run_doxie("apply_config", "acme", str(path))
    assert result.returncode == 1
    assert message in result.stderr
    assert not QrEventConfig.objects.exists()


@pytest.mark.django_db
def test_cancel_through_p7_api(api, api_caller, tenant, qr_event):
    code = make_code(tenant)
    response = api.post(f"/api/v1/acme/processes/{code.process.uuid}/cancel",
                        caller=api_caller)
    assert response.status_code == 200, response.content
    assert Client().get(f"/qr/{code.uuid}").status_code == 410
    again = api.post(f"/api/v1/acme/processes/{code.process.uuid}/cancel", caller=api_caller)
    assert again.status_code == 409


@pytest.mark.django_db
def test_retention_pseudonymizes_then_deletes_scans(tenant, qr_event):
    Brand.objects.filter(pk=qr_event.brand_id).update(
        pseudonymization_duration_of_sent_messages_in_days=30,
        storage_duration_of_sent_messages_in_days=90)
    code = make_code(tenant)
    Client(HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="198.51.100.7").get(f"/qr/{code.uuid}")
    QrScan.objects.update(scanned_at=timezone.now() - timedelta(days=29))
    assert tasks.apply_retention() == {"deleted": 0, "pseudonymized": 0}

    QrScan.objects.update(scanned_at=timezone.now() - timedelta(days=31))
    assert tasks.retention() == {"deleted": 0, "pseudonymized": 1}
    scan = QrScan.objects.get()
    assert scan.ip == pseudonym("198.51.100.0") and scan.user_agent == pseudonym(BROWSER_UA)
    assert scan.pseudonymized_at is not None and scan.referrer == ""
    assert tasks.apply_retention() == {"deleted": 0, "pseudonymized": 0}  # idempotent

    QrScan.objects.update(scanned_at=timezone.now() - timedelta(days=91))
    assert tasks.apply_retention()["deleted"] == 1
    assert not QrScan.objects.exists()
    code.refresh_from_db()
    assert code.scans_total == 1  # the counters stay
    assert QrCode.objects.filter(pk=code.pk).exists()


@pytest.mark.django_db
def test_retention_keeps_scans_waiting_for_their_webhook(tenant, qr_event):
    code = make_code(tenant)
    Client().get(f"/qr/{code.uuid}")
    QrScan.objects.update(notify_pending=True, scanned_at=timezone.now() - timedelta(days=365))
    assert tasks.apply_retention()["deleted"] == 0
    assert QrScan.objects.exists()
