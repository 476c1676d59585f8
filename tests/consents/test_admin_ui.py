"""Admin UI: purposes are editable (with the same validation as apply_config), contacts,
consents and the ledger are read-only, and a staff member sees only their tenants."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from doxie.consents.models import ConsentLedgerEntry, ConsentPurpose
from doxie.tenants import services as tenant_services
from tests.consents.support import start
from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(tenant) -> Client:
    user, _ = tenant_services.create_admin(
        tenant=tenant, username="alice", email="a@example.com", can_read=True, can_write=True,
        password=PASSWORD,
    )
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="consents"))
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    return client


def _form(purpose: ConsentPurpose, **changes) -> dict:
    data = {
        "tenant": purpose.tenant_id, "slug": purpose.slug, "name": purpose.name,
        "brand": purpose.brand_id, "doi_email_sender": purpose.doi_email_sender,
        "doi_email_sender_name": "", "doi_email_subject": purpose.doi_email_subject,
        "doi_email_html": purpose.doi_email_html, "doi_email_text": "",
        "doi_sms_text": purpose.doi_sms_text, "confirmation_validity_hours": 48,
        "success_redirect_url": "", "success_page_html": "<p>Danke</p><script>x</script>",
        "resend_throttle_seconds": 60,
    }
    data.update(changes)
    return data


def test_purposes_are_scoped_and_editable(staff, tenant, purpose, other_purpose):
    listing = staff.get("/admin/consents/consentpurpose/").content.decode()
    assert "marketing" in listing and "newsletter" not in listing
    other = staff.get(f"/admin/consents/consentpurpose/{other_purpose.id}/change/")
    assert other.status_code in (302, 404)

    url = f"/admin/consents/consentpurpose/{purpose.id}/change/"
    response = staff.post(url, _form(purpose))
    assert response.status_code == 302, response.content.decode()[:2000]
    purpose.refresh_from_db()
    assert purpose.confirmation_validity_hours == 48
    assert purpose.success_page_html == "<p>Danke</p>"


def test_invalid_templates_and_foreign_brands_are_rejected(staff, purpose, other_purpose):
    url = f"/admin/consents/consentpurpose/{purpose.id}/change/"
    broken = staff.post(url, _form(purpose, doi_email_html="{% if %}"))
    assert broken.status_code == 200 and "template error" in broken.content.decode()
    foreign = staff.post(url, _form(purpose, brand=other_purpose.brand_id))
    assert foreign.status_code == 200
    purpose.refresh_from_db()
    assert purpose.brand_id != other_purpose.brand_id


def test_contacts_consents_and_ledger_are_read_only(staff, tenant, purpose):
    consent, _ = start(tenant)
    entry = ConsentLedgerEntry.objects.filter(tenant=tenant).first()
    for path in ("contact", "consent", "consentledgerentry"):
        listing = staff.get(f"/admin/consents/{path}/")
        assert listing.status_code == 200
        assert f"/admin/consents/{path}/add/" not in listing.content.decode()
        assert staff.get(f"/admin/consents/{path}/add/").status_code == 403
    page = staff.get(f"/admin/consents/consent/{consent.id}/change/").content.decode()
    assert consent.token_hash not in page
    ledger_page = staff.get(f"/admin/consents/consentledgerentry/{entry.id}/change/")
    assert ledger_page.status_code == 200
    assert staff.post(f"/admin/consents/consentledgerentry/{entry.id}/delete/").status_code == 403
    assert ConsentLedgerEntry.objects.filter(id=entry.id).exists()


def test_templates_that_fail_a_trial_render_are_rejected(staff, purpose):
    url = f"/admin/consents/consentpurpose/{purpose.id}/change/"
    broken = staff.post(url, _form(purpose, doi_email_html="{{ 'a'.center(20000000) }}"))
    assert broken.status_code == 200
    assert "template fails with a sample context" in broken.content.decode()
    purpose.refresh_from_db()
    assert "center" not in purpose.doi_email_html
