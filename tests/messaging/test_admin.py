"""Admin UI: tenant scoping, events with template inlines validated like apply_config, and
read-only messages with their status history."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from doxie.messaging.models import EmailTemplate, Message
from doxie.processes.models import Event
from doxie.tenants import services
from tests.helpers import PASSWORD
from tests.messaging.conftest import SENDER, drain, mailer, make_brand, make_event


@pytest.fixture
def staff(tenant) -> Client:
    user, _ = services.create_admin(tenant=tenant, username="alice", email="a@example.com",
                                    can_read=True, can_write=True, password=PASSWORD)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label__in=("messaging", "processes")))
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    return client


def _event_form(brand, tenant, sender: str, subject: str = "Hallo {{ first_name }}") -> dict:
    data = {
        "tenant": tenant.id, "slug": "promo", "name": "Promo", "kind": "mailer",
        "brand": brand.id, "parameters": '[{"name": "email", "required": true}]',
        "required_consent_slug": "", "settings": "{}",
        "email_templates-TOTAL_FORMS": "1", "email_templates-INITIAL_FORMS": "0",
        "email_templates-0-name": "Mail", "email_templates-0-position": "0",
        "email_templates-0-to": "{{ email }}", "email_templates-0-sender": sender,
        "email_templates-0-subject": subject, "email_templates-0-html": "<p>Hi</p>",
        "email_templates-0-track_links": "on",
    }
    for prefix in ("sms_templates", "rcs_templates"):
        data[f"{prefix}-TOTAL_FORMS"] = "0"
        data[f"{prefix}-INITIAL_FORMS"] = "0"
    return data


@pytest.mark.django_db
def test_event_with_templates_is_validated_and_saved(staff, tenant):
    brand = make_brand(tenant)
    bad = staff.post("/admin/processes/event/add/", _event_form(brand, tenant, "x@other.example",
                                                                "{{ broken"))
    assert bad.status_code == 200
    page = bad.content.decode()
    assert "possible sender emails" in page and "template syntax error" in page
    assert not Event.objects.exists()

    ok = staff.post("/admin/processes/event/add/", _event_form(brand, tenant, SENDER))
    assert ok.status_code == 302, ok.content.decode()[:2000]
    template = EmailTemplate.objects.get()
    assert template.tenant == tenant and template.event.slug == "promo"


@pytest.mark.django_db
def test_staff_sees_only_their_tenants_rows(staff, api, api_caller, tenant, other_tenant,
                                            smtp_server):
    mine = make_brand(tenant, smtp=smtp_server)
    make_event(tenant, mine)
    make_event(other_tenant, make_brand(other_tenant, "theirs"), slug="their_event")
    mailer(api, api_caller)
    drain(mine)
    events = staff.get("/admin/processes/event/").content.decode()
    assert "welcome_email" in events and "their_event" not in events
    message = Message.objects.get()
    page = staff.get(f"/admin/messaging/message/{message.id}/change/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "max@example.org" in content and "Sent" in content and "Queued" in content
    assert staff.get("/admin/processes/process/").status_code == 200
    assert staff.get("/admin/messaging/suppression/add/").status_code == 200
    assert staff.get("/admin/messaging/message/add/").status_code == 403
    other_event = Event.objects.get(slug="their_event")
    assert staff.get(f"/admin/processes/event/{other_event.id}/change/").status_code in (302, 404)
