"""Admin UI pages for webhooks: tenant-scoped, secrets masked, the log read-only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from doxie.tenants import services as tenant_services
from doxie.webhooks import services
from doxie.webhooks.models import WebhookInteraction
from tests.helpers import PASSWORD
from tests.webhooks.support import message_sent


@pytest.fixture
def staff(tenant):
    user, _ = tenant_services.create_admin(
        tenant=tenant, username="alice", email="a@example.com", can_read=True, can_write=True,
        password=PASSWORD,
    )
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="webhooks",
        codename__in=["view_webhookendpoint", "change_webhookendpoint",
                      "view_webhookinteraction"],
    ))
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    return client


@pytest.mark.django_db
def test_pages_are_scoped_and_mask_secrets(staff, tenant, other_tenant):
    mine, secret = services.create_endpoint(
        tenant=tenant, type="Webhook::MessageSentEndpoint", url="https://mine.example.com/",
        basic_auth_username="hook", basic_auth_password="very-secret-pw",
    )
    theirs, _ = services.create_endpoint(
        tenant=other_tenant, type="Webhook::MessageSentEndpoint", url="https://theirs.example.com/",
    )
    services.emit(tenant=tenant, event=message_sent(recipient="mine@example.com"))
    services.emit(tenant=other_tenant, event=message_sent(recipient="x@theirs.com"))

    listing = staff.get("/admin/webhooks/webhookendpoint/").content.decode()
    assert "mine.example.com" in listing and "theirs.example.com" not in listing
    page = staff.get(f"/admin/webhooks/webhookendpoint/{mine.id}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "********" in html
    assert "very-secret-pw" not in html and secret not in html
    assert staff.get(f"/admin/webhooks/webhookendpoint/{theirs.id}/change/").status_code in (
        302, 404)
    assert staff.get("/admin/webhooks/webhookendpoint/add/").status_code == 403

    log = staff.get("/admin/webhooks/webhookinteraction/").content.decode()
    assert "message_sent" in log
    mine_row = WebhookInteraction.objects.get(tenant=tenant)
    theirs_row = WebhookInteraction.objects.get(tenant=other_tenant)
    detail = staff.get(f"/admin/webhooks/webhookinteraction/{mine_row.id}/change/")
    assert detail.status_code == 200 and "mine@example.com" in detail.content.decode()
    assert "<textarea" not in detail.content.decode()  # read-only
    assert staff.get(
        f"/admin/webhooks/webhookinteraction/{theirs_row.id}/change/").status_code in (302, 404)


@pytest.mark.django_db
def test_admin_form_refuses_unsafe_urls_and_deactivation_fails_pending(staff, tenant, settings):
    endpoint, _ = services.create_endpoint(
        tenant=tenant, type="Webhook::MessageSentEndpoint", url="https://mine.example.com/",
    )
    services.emit(tenant=tenant, event=message_sent())
    form = {"tenant": tenant.id, "type": endpoint.type, "url": "https://10.0.0.1/",
            "basic_auth_username": "", "send_original_payload": ""}
    settings.DOXIE_ALLOW_PRIVATE_URLS = False
    refused = staff.post(f"/admin/webhooks/webhookendpoint/{endpoint.id}/change/",
                         {**form, "is_active": "on"})
    assert refused.status_code == 200 and "private" in refused.content.decode()
    saved = staff.post(f"/admin/webhooks/webhookendpoint/{endpoint.id}/change/",
                       {**form, "url": "https://other.example.com/"})  # is_active unchecked
    assert saved.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.is_active is False and endpoint.url == "https://other.example.com/"
    assert WebhookInteraction.objects.get().status == "failed"
