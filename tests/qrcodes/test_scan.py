"""``GET /qr/{uuid}``: 302 + no-store while active, 410 page / expired_url afterwards, every
GET a counted scan with its ``qr_code_scanned`` webhook; HEAD not counted; DB down → 503."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob

from doxie.brands.models import Style
from doxie.processes import services as process_services
from doxie.qrcodes.models import QrCode, QrScan
from doxie.webhooks.models import WebhookInteraction
from tests.core.test_db import kill_backend
from tests.helpers import run_jobs
from tests.qrcodes.support import (
    BROWSER_UA,
    EXPIRED,
    TARGET,
    make_code,
    make_endpoint,
    make_qr_event,
    received,
)

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
WHATSAPP = "WhatsApp/2.23.20.0 A"


def scan(code, ua: str = BROWSER_UA, **headers):
    return Client(HTTP_USER_AGENT=ua, REMOTE_ADDR="203.0.113.77").get(
        f"/qr/{code.uuid}", headers=headers)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_jobs")
def test_scan_redirects_counts_and_fires_signed_webhook(tenant, qr_event, receiver):
    _, secret = make_endpoint(tenant, receiver)
    code = make_code(tenant)

    first = scan(code, Referer="https://news.example/")
    second = scan(code)

    for response in (first, second):
        assert response.status_code == 302
        assert response["Location"] == TARGET
        assert response["Cache-Control"] == "no-store"
    code.refresh_from_db()
    assert (code.scans_total, code.scans_human, code.scans_bot) == (2, 2, 0)
    assert code.first_scan_at <= code.last_scan_at
    scans = list(QrScan.objects.order_by("id"))
    assert [s.status for s in scans] == ["active", "active"]
    assert scans[0].ip == "203.0.113.0"  # truncated to /24
    assert scans[0].user_agent == BROWSER_UA and scans[0].referrer == "https://news.example/"
    assert not scans[0].potential_bot and not scans[0].link_preview

    run_jobs()
    bodies = received(receiver, secret)
    assert len(bodies) == 2
    assert {k: v for k, v in bodies[0].items() if k != "timestamp"} == {
        "process_id": str(code.process.uuid),
        "target_url": TARGET,
        "valid_until": code.valid_until.isoformat().replace("+00:00", "Z"),
        "qr_code_uuid": str(code.uuid),
        "status": "active",
        "original_payload": {"campaign": "summer"},
    }
    assert bodies[0]["timestamp"].endswith("Z")
    assert not QrScan.objects.filter(notify_pending=True).exists()
    # Each scan is its own event (distinct webhook-id), delivered once.
    ids = {hit.header("webhook-id") for hit in receiver.hits()}
    assert len(ids) == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_jobs")
def test_original_payload_only_when_the_endpoint_asks(tenant, qr_event, receiver):
    _, secret = make_endpoint(tenant, receiver, original=False)
    code = make_code(tenant)
    scan(code)
    run_jobs()
    (body,) = received(receiver, secret)
    assert "original_payload" not in body


@pytest.mark.django_db
def test_scan_costs_at_most_three_queries(tenant, qr_event, receiver, clean_jobs):
    make_endpoint(tenant, receiver)
    code = make_code(tenant)
    for _ in range(2):  # the first scan defers the notifier, the second finds it waiting
        with CaptureQueriesContext(connection) as queries:
            assert scan(code).status_code == 302
        assert len(queries) <= 3, [q["sql"] for q in queries]
    assert ProcrastinateJob.objects.filter(task_name="qrcodes.notify").count() == 1
    code.refresh_from_db()
    assert code.scans_total == 2


@pytest.mark.django_db
def test_without_listeners_nothing_is_queued(tenant, qr_event, clean_jobs):
    code = make_code(tenant)
    with CaptureQueriesContext(connection) as queries:
        assert scan(code).status_code == 302
    assert len(queries) == 1
    assert not QrScan.objects.get().notify_pending
    assert not ProcrastinateJob.objects.filter(task_name="qrcodes.notify").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_jobs")
def test_expired_code_410_branded_page_and_expired_webhook(tenant, qr_event, receiver):
    _, secret = make_endpoint(tenant, receiver)
    Style.objects.create(tenant=tenant, brand=qr_event.brand, primary_color="#c00000")
    code = make_code(tenant)
    QrCode.objects.filter(pk=code.pk).update(valid_until=timezone.now() - timedelta(seconds=1))

    response = scan(code)

    assert response.status_code == 410
    assert "Location" not in response
    html = response.content.decode()
    assert "abgelaufen" in html and "Example Energie" in html and "#c00000" in html
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "<script" not in html
    run_jobs()
    (body,) = received(receiver, secret)
    assert body["status"] == "expired"
    assert QrScan.objects.get().status == "expired"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_jobs")
def test_cancelled_code_410_and_reports_expired(tenant, qr_event, receiver):
    _, secret = make_endpoint(tenant, receiver)
    code = make_code(tenant)
    result = process_services.cancel_process(tenant=tenant, process_uuid=str(code.process.uuid))
    assert result.counts == {"qr_codes": 1}

    response = scan(code)

    assert response.status_code == 410
    assert "beendet" in response.content.decode()
    code.refresh_from_db()
    assert code.cancelled_at is not None and code.scans_total == 1
    run_jobs()
    (body,) = received(receiver, secret)
    assert body["status"] == "expired"
    assert QrScan.objects.get().status == "cancelled"


@pytest.mark.django_db
def test_expired_code_redirects_to_expired_url_when_configured(tenant):
    make_qr_event(tenant, expired_url=EXPIRED)
    code = make_code(tenant, valid_until=(timezone.now() + timedelta(hours=1)).isoformat())
    QrCode.objects.filter(pk=code.pk).update(valid_until=timezone.now() - timedelta(seconds=1))
    response = scan(code)
    assert response.status_code == 302 and response["Location"] == EXPIRED
    assert response["Cache-Control"] == "no-store"
    assert QrScan.objects.get().status == "expired"


@pytest.mark.django_db
@pytest.mark.parametrize("ua,preview", [(GOOGLEBOT, False), (WHATSAPP, True), ("", False)])
def test_bots_and_link_previews_are_flagged(tenant, qr_event, ua, preview):
    code = make_code(tenant)
    assert scan(code, ua).status_code == 302
    row = QrScan.objects.get()
    assert row.potential_bot is True
    assert row.link_preview is preview
    code.refresh_from_db()
    assert (code.scans_total, code.scans_human, code.scans_bot) == (1, 0, 1)


@pytest.mark.django_db
def test_prefetch_header_is_a_preview(tenant, qr_event):
    code = make_code(tenant)
    scan(code, BROWSER_UA, **{"Sec-Purpose": "prefetch"})
    assert QrScan.objects.get().link_preview is True


@pytest.mark.django_db
def test_head_redirects_without_counting(tenant, qr_event, receiver, clean_jobs):
    make_endpoint(tenant, receiver)
    code = make_code(tenant)
    response = Client().head(f"/qr/{code.uuid}")
    assert response.status_code == 302 and response["Location"] == TARGET
    code.refresh_from_db()
    assert code.scans_total == 0
    assert not QrScan.objects.exists() and not WebhookInteraction.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", [
    "/qr/00000000-0000-0000-0000-000000000000", "/qr/not-a-uuid", "/qr/%00", "/qr/x" * 3,
    "/qr/https:%2F%2Fevil.example",
])
def test_unknown_or_malformed_is_a_404_page(tenant, qr_event, path):
    make_code(tenant)
    response = Client().get(path)
    assert response.status_code == 404
    assert "Location" not in response
    assert response["Content-Type"].startswith("text/html")
    assert not QrScan.objects.exists()


@pytest.mark.django_db
def test_other_methods_are_refused(tenant, qr_event):
    code = make_code(tenant)
    assert Client().post(f"/qr/{code.uuid}").status_code == 405
    assert not QrScan.objects.exists()


@pytest.mark.django_db
def test_full_ip_only_when_the_tenant_opts_in(tenant):
    make_qr_event(tenant, store_full_ip=True)
    code = make_code(tenant)
    Client(REMOTE_ADDR="203.0.113.77").get(f"/qr/{code.uuid}")
    assert QrScan.objects.get().ip == "203.0.113.77"


def test_ip_truncation():
    from doxie.qrcodes.detection import truncated_ip

    assert truncated_ip("198.51.100.23") == "198.51.100.0"
    assert truncated_ip("2001:db8:abcd:12:1:2:3:4") == "2001:db8:abcd::"
    assert truncated_ip("::ffff:198.51.100.23") == "198.51.100.0"
    assert truncated_ip("garbage") == ""
    assert truncated_ip("2001:db8::1", full=True) == "2001:db8::1"


@pytest.mark.django_db(transaction=True)
def test_database_down_is_a_503_page_not_an_unrecorded_redirect(tenant, qr_event):
    code = make_code(tenant)
    settings = connection.settings_dict
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    kill_backend(settings, pid)  # the request's connection is now closed under it

    response = Client().get(f"/qr/{code.uuid}")

    assert response.status_code == 503
    assert "Location" not in response
    assert response["Retry-After"]
    assert response["Content-Type"].startswith("text/html")
    connection.close()
    assert not QrScan.objects.exists()
    code.refresh_from_db()
    assert code.scans_total == 0
