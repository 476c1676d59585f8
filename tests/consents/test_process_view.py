"""The process view for a consent (DOI) process: consents' describer lists the consent steps
(requested, re-sent, confirmed, revoked) next to messaging's DOI messages."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from doxie.consents import services
from tests.consents.support import path_of, start

pytestmark = pytest.mark.django_db

VIEW = "/api/v1/{tenant}/admin/processes/{uuid}"


def test_consent_steps_and_doi_messages(api, admin, tenant, purpose):
    purpose.resend_throttle_seconds = 0
    purpose.save()
    consent, _ = start(tenant)
    _, link = start(tenant)  # P1 again for the pending consent: the DOI message is re-sent
    token = path_of(link).rstrip("/").rsplit("/", 1)[1]
    outcome = services.confirm(token=token, ip="198.51.100.7", user_agent="test")
    assert outcome.consent is not None and outcome.consent.status == "confirmed"
    services.revoke(tenant=tenant, customer_id="c-1", consent_slug="marketing",
                    actor=services.Actor("api_user:crm"))
    process_uuid = str(consent.process.uuid)

    with CaptureQueriesContext(connection) as queries:
        response = api.get(VIEW.format(tenant="acme", uuid=process_uuid), caller=admin)

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["kind"] == "consent" and data["event_slug"] is None
    [described] = data["details"]["consents"]
    assert described["consent_slug"] == "marketing" and described["status"] == "revoked"
    kinds = [step["kind"] for step in described["steps"]]
    assert kinds[:2] == ["requested", "message_sent"]
    assert kinds.count("message_sent") == 2 and kinds[-2:] == ["confirmed", "revoked"]
    assert described["steps"][-1]["reason"] == "revoked through the API"
    messages = data["details"]["messages"]
    assert len(messages) == 2 and {m["channel"] for m in messages} == {"email"}
    assert all(m["recipient"] == "a***@example.com" for m in messages)
    assert "/doi/" not in response.content.decode()  # the secret link never appears
    assert len(queries) <= 10
