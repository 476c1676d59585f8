"""P2: revoke one or all consents; 422 when neither; ledger entries; isolation."""

from __future__ import annotations

import pytest

from doxie.consents.models import Consent, ConsentLedgerEntry, ConsentStatus
from tests.consents.conftest import make_purpose
from tests.consents.support import initiate, revoke

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_consents(api, api_caller, tenant, brand, purpose):
    make_purpose(tenant, brand, "newsletter", name="Newsletter")
    first = initiate(api, api_caller, email="a@example.com").json()
    second = initiate(api, api_caller, consent_slug="newsletter", phone="+491771234567").json()
    Consent.objects.filter(purpose=purpose).update(status=ConsentStatus.CONFIRMED)
    return first, second


def test_revoke_one(api, api_caller, two_consents):
    first, _ = two_consents

    response = revoke(api, api_caller, customer_id="c-1", consent_slug="marketing")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"success", "error_message", "data"}  # the seed's P2 envelope
    assert body["success"] is True and body["error_message"] is None
    assert body["data"] == {
        "revoked_consents": [
            {
                "customer_id": "c-1",
                "consent_slug": "marketing",
                "contact_channel": "a@example.com",
                "process_uuid": first["process_uuid"],
            }
        ]
    }
    statuses = dict(Consent.objects.values_list("purpose__slug", "status"))
    assert statuses == {"marketing": "revoked", "newsletter": "pending"}
    revoked = Consent.objects.get(purpose__slug="marketing")
    assert revoked.revoked_at is not None

    entry = ConsentLedgerEntry.objects.order_by("-seq").first()
    assert entry.kind == "revoked" and entry.consent_id == revoked.id
    assert entry.actor == "api_user:api-client"
    assert entry.data["previous_status"] == "confirmed"


def test_revoke_all(api, api_caller, two_consents):
    response = revoke(api, api_caller, customer_id="c-1", revoke_all=True)

    assert response.status_code == 200
    revoked = response.json()["data"]["revoked_consents"]
    assert sorted(r["consent_slug"] for r in revoked) == ["marketing", "newsletter"]
    assert set(Consent.objects.values_list("status", flat=True)) == {"revoked"}
    kinds = list(ConsentLedgerEntry.objects.order_by("seq").values_list("kind", flat=True))
    assert kinds[-2:] == ["revoked", "revoked"]


def test_revoke_again_is_an_empty_list(api, api_caller, two_consents):
    revoke(api, api_caller, customer_id="c-1", revoke_all=True)
    size = ConsentLedgerEntry.objects.count()

    response = revoke(api, api_caller, customer_id="c-1", consent_slug="marketing")

    assert response.status_code == 200
    assert response.json()["data"] == {"revoked_consents": []}
    assert ConsentLedgerEntry.objects.count() == size


@pytest.mark.parametrize(
    "body",
    [
        {"customer_id": "c-1"},
        {"customer_id": "c-1", "revoke_all": False},
        {"customer_id": "c-1", "consent_slug": "", "revoke_all": False},
    ],
)
def test_neither_slug_nor_all_is_422(api, api_caller, two_consents, body):
    response = revoke(api, api_caller, **body)
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "consent_slug"
    assert Consent.objects.filter(status="revoked").count() == 0


def test_missing_customer_id_is_422(api, api_caller, two_consents):
    response = revoke(api, api_caller, revoke_all=True)
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "customer_id"


def test_unknown_contact_and_unknown_slug_are_404(api, api_caller, two_consents):
    assert revoke(api, api_caller, customer_id="ghost", revoke_all=True).status_code == 404
    assert revoke(api, api_caller, customer_id="c-1", consent_slug="nope").status_code == 404


def test_auth_and_isolation(api, api_caller, other_api_caller, two_consents, other_purpose):
    assert revoke(api, None, customer_id="c-1", revoke_all=True).status_code == 401
    assert revoke(api, other_api_caller, customer_id="c-1", revoke_all=True).status_code == 401
    # The other tenant's own API user cannot reach acme's contact through its own tenant.
    response = revoke(api, other_api_caller, "other", customer_id="c-1", revoke_all=True)
    assert response.status_code == 404
    assert Consent.objects.filter(status="revoked").count() == 0


def test_cancelled_process_revokes_its_pending_consent(api, api_caller, tenant, purpose):
    from django.utils import timezone

    from doxie.consents import services

    consent_uuid = initiate(api, api_caller, email="a@example.com").json()["process_uuid"]
    consent = Consent.objects.get()

    assert services.cancel_process_consents(process=consent.process, at=timezone.now()) == 1

    consent.refresh_from_db()
    assert consent.status == ConsentStatus.REVOKED
    entry = ConsentLedgerEntry.objects.order_by("-seq").first()
    assert entry.kind == "revoked" and entry.data["reason"] == "process cancelled"
    assert entry.data["process_uuid"] == consent_uuid
    assert services.cancel_process_consents(process=consent.process, at=timezone.now()) == 0
