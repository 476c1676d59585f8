"""Admin API: a contact's consents with their ledger, and erasure; permissions and isolation."""

from __future__ import annotations

import json

import pytest

from doxie.consents import ledger, services
from doxie.consents.models import Consent, ConsentLedgerEntry, Contact
from doxie.messaging.models import Message
from doxie.processes.models import Process
from tests.consents.conftest import make_purpose
from tests.consents.support import initiate, start
from tests.helpers import make_admin_caller

pytestmark = pytest.mark.django_db

CONSENTS = "/api/v1/{tenant}/admin/contacts/{customer_id}/consents"
ERASE = "/api/v1/{tenant}/admin/contacts/{customer_id}/erase"


@pytest.fixture
def contact_with_history(tenant, brand, purpose):
    make_purpose(tenant, brand, "newsletter", name="Newsletter")
    consent, _ = start(tenant)
    start(tenant, phone="+491771234567", slug="newsletter")
    services.revoke(tenant=tenant, customer_id="c-1", consent_slug="marketing",
                    actor=services.Actor("api_user:crm"))
    return consent


def test_contact_consents_with_ledger(api, admin, contact_with_history):
    response = api.get(CONSENTS.format(tenant="acme", customer_id="c-1"), caller=admin)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"success", "message", "error", "data"}
    data = body["data"]
    assert data["customer_id"] == "c-1" and data["erased_at"] is None
    assert data["email"] == "a@example.com" and data["phone"] == "+491771234567"
    email, sms = data["consents"]
    assert (email["channel"], email["status"], sms["channel"]) == ("email", "revoked", "sms")
    assert [e["kind"] for e in email["ledger"]] == ["requested", "message_sent", "revoked"]
    assert [e["kind"] for e in sms["ledger"]] == ["requested", "message_sent"]
    sent = email["ledger"][1]
    assert sent["shown_text"].count("{{ confirmation_url }}") >= 1
    assert "/doi/" not in sent["shown_text"]  # the secret link is never exposed
    assert email["ledger"][0]["occurred_at"].endswith("Z")
    assert len(sent["entry_hash"]) == 64 and sent["prev_hash"] == email["ledger"][0]["entry_hash"]


def test_unknown_contact_is_404(api, admin, contact_with_history):
    response = api.get(CONSENTS.format(tenant="acme", customer_id="ghost"), caller=admin)
    assert response.status_code == 404
    assert response.json()["success"] is False


def test_read_needs_read_permission(api, tenant, writer_without_read, contact_with_history):
    response = api.get(CONSENTS.format(tenant="acme", customer_id="c-1"),
                       caller=writer_without_read)
    assert response.status_code == 403
    assert response.json()["error"] == "No read permission"


def test_auth_required(api, api_caller, contact_with_history):
    assert api.get(CONSENTS.format(tenant="acme", customer_id="c-1")).status_code == 401
    # Public API credentials are not admin credentials.
    response = api.get(CONSENTS.format(tenant="acme", customer_id="c-1"), caller=api_caller)
    assert response.status_code == 401


def test_other_tenants_admin_cannot_see_or_erase(api, other_admin, contact_with_history):
    assert api.get(CONSENTS.format(tenant="acme", customer_id="c-1"),
                   caller=other_admin).status_code == 404
    assert api.get(CONSENTS.format(tenant="other", customer_id="c-1"),
                   caller=other_admin).status_code == 404
    assert api.post(ERASE.format(tenant="other", customer_id="c-1"),
                    caller=other_admin).status_code == 404
    assert Contact.objects.get(customer_id="c-1").erased_at is None


def test_erase_pseudonymizes_and_keeps_the_chain_valid(api, admin, tenant, contact_with_history):
    before = ConsentLedgerEntry.objects.filter(tenant=tenant).count()

    response = api.post(ERASE.format(tenant="acme", customer_id="c-1"), caller=admin)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["message"] == "Erfolgreich gelöscht"
    data = body["data"]
    assert data["customer_id"] == "c-1" and data["pseudonym"].startswith("erased-")
    assert data["consents"] == 2 and data["revoked_consents"] == 1

    contact = Contact.objects.get(tenant=tenant)
    assert contact.customer_id == data["pseudonym"] and contact.erased_at
    assert contact.email == "" and contact.phone == ""
    for consent in Consent.objects.filter(contact=contact):
        assert consent.status == "revoked" and consent.channel_value.startswith("sha256:")
        assert consent.confirmed_ip is None
    everything = json.dumps(list(Consent.objects.values()), default=str) + json.dumps(
        list(ConsentLedgerEntry.objects.values("shown_text", "data", "actor")), default=str
    )
    assert "a@example.com" not in everything and "491771234567" not in everything
    # The DOI messages (queued or sent) and the processes' stored requests are erased too.
    messages = json.dumps(list(Message.objects.filter(tenant=tenant).values()), default=str)
    processes = json.dumps(list(Process.objects.filter(tenant=tenant).values()), default=str)
    assert Message.objects.filter(tenant=tenant).count() >= 2
    for text in (messages, processes):
        assert "a@example.com" not in text and "491771234567" not in text

    kinds = list(ConsentLedgerEntry.objects.filter(tenant=tenant).order_by("seq")
                 .values_list("kind", flat=True))
    assert kinds[before:] == ["revoked", "erased"]
    erased = ConsentLedgerEntry.objects.get(kind="erased")
    assert erased.actor.startswith("admin:") and erased.consent_id is None
    assert erased.contact_id == contact.id
    assert ledger.verify(tenant.id).ok

    # The original id is gone; the pseudonym still gives access to the proof.
    assert api.get(CONSENTS.format(tenant="acme", customer_id="c-1"),
                   caller=admin).status_code == 404
    record = api.get(CONSENTS.format(tenant="acme", customer_id=data["pseudonym"]), caller=admin)
    assert record.status_code == 200
    assert record.json()["data"]["ledger"][0]["kind"] == "erased"
    assert api.post(ERASE.format(tenant="acme", customer_id="c-1"),
                    caller=admin).status_code == 404


def test_erased_customer_id_starts_fresh(api, admin, api_caller, tenant, contact_with_history):
    pseudonym = api.post(ERASE.format(tenant="acme", customer_id="c-1"),
                         caller=admin).json()["data"]["pseudonym"]
    response = initiate(api, api_caller, email="a@example.com")
    assert response.status_code == 200
    assert Contact.objects.filter(tenant=tenant).count() == 2
    # The erased record itself takes no new consents.
    reuse = initiate(api, api_caller, customer_id=pseudonym, email="a@example.com")
    assert reuse.status_code == 422 and reuse.json()["details"][0]["field"] == "customer_id"


def test_erase_needs_write_permission(api, reader, tenant, contact_with_history):
    response = api.post(ERASE.format(tenant="acme", customer_id="c-1"), caller=reader)
    assert response.status_code == 403
    assert response.json()["error"] == "No write permission"
    read_only_scope = make_admin_caller(tenant, scope="read")
    assert api.post(ERASE.format(tenant="acme", customer_id="c-1"),
                    caller=read_only_scope).status_code == 403
    assert Contact.objects.get(tenant=tenant).erased_at is None


def test_erase_unknown_contact_is_404(api, admin, contact_with_history):
    assert api.post(ERASE.format(tenant="acme", customer_id="ghost"),
                    caller=admin).status_code == 404


def test_operations_are_in_the_openapi_document(api):
    paths = api.get("/api/openapi.json").json()["paths"]
    for path, method in [
        ("/api/v1/{tenant}/mpm/consents/initiate", "post"),
        ("/api/v1/{tenant}/mpm/consents/revoke", "post"),
        ("/api/v1/{tenant}/admin/contacts/{customer_id}/consents", "get"),
        ("/api/v1/{tenant}/admin/contacts/{customer_id}/erase", "post"),
    ]:
        operation = paths[path][method]
        assert operation["summary"] and operation["description"]
        assert {"200", "401", "404", "422"} <= set(operation["responses"])
    initiate_op = paths["/api/v1/{tenant}/mpm/consents/initiate"]["post"]
    assert "429" in initiate_op["responses"]
