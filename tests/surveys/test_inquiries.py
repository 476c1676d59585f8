"""P5: success on both channels, validation, auth, isolation, gates; the link stays secret."""

from __future__ import annotations

import pytest

from doxie.messaging.models import Message, TrackedLink
from doxie.messaging.secret_links import unseal
from doxie.processes.models import Process
from doxie.surveys.models import Inquiry
from doxie.surveys.services import hash_token
from tests.helpers import basic_caller
from tests.surveys.conftest import INQUIRIES, invite, link_in

pytestmark = pytest.mark.django_db


def test_invitation_by_email_and_sms(api, api_caller, tenant, survey):
    response = invite(api, api_caller, phone="+49 151 2345 6789", campaign="x1")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"success", "error_message", "process_uuid", "data"}
    assert body["success"] is True and body["error_message"] is None and body["data"] is None
    process = Process.objects.get(uuid=body["process_uuid"])
    assert process.kind == "survey" and process.event.slug == "feedback"
    assert process.original_payload == {"email": "max@example.com", "phone": "+4915123456789",
                                        "first_name": "Max", "campaign": "x1"}
    inquiry = Inquiry.objects.get()
    assert inquiry.process == process and inquiry.state == "sent"
    assert inquiry.email == "max@example.com" and inquiry.phone == "+4915123456789"
    assert round((inquiry.expires_at - inquiry.created_at).total_seconds()) == 14 * 86400
    assert round((inquiry.reminder_due_at - inquiry.created_at).total_seconds()) == 3 * 86400

    email, sms = Message.objects.order_by("channel")
    assert email.channel == "email" and email.subject == "Ihre Meinung, Max"
    assert sms.channel == "sms" and sms.recipient == "+4915123456789"
    # Only placeholders in stored bodies; the link (whose hash is the inquiry's) is sealed.
    assert "{{ survey_url }}" in email.html and "{{ survey_url }}" in sms.text
    url = unseal(email.secret_values, encrypted=False)["survey_url"]
    assert url == unseal(sms.secret_values, encrypted=False)["survey_url"]
    token = link_in(url).rsplit("/", 1)[1]
    assert hash_token(token) == inquiry.token_hash
    assert token not in response.content.decode() and token not in str(process.original_payload)
    assert not TrackedLink.objects.filter(message=email).exists()  # the link is not copied


@pytest.mark.parametrize(("body", "field"), [
    ({"email": None}, "email"),
    ({"email": "not-an-address"}, "email"),
    ({"email": None, "phone": "0151 234567"}, "phone"),
    ({"email": 5}, "email"),
    ({"first_name": "  "}, "first_name"),
])
def test_validation_errors(api, api_caller, survey, body, field):
    response = invite(api, api_caller, **body)
    assert response.status_code == 422, response.content
    assert field in {d["field"] for d in response.json()["details"]}
    assert not Inquiry.objects.exists() and not Message.objects.exists()


def test_unknown_and_non_survey_events(api, api_caller, tenant, survey):
    assert invite(api, api_caller, slug="nope").status_code == 404
    from doxie.processes.models import Event

    Event.objects.create(tenant=tenant, slug="mail", brand=survey.event.brand)
    response = invite(api, api_caller, slug="mail")
    assert response.status_code == 422 and "not a survey event" in response.json()["error_message"]


def test_auth_and_isolation(api, api_caller, other_api_caller, tenant, survey):
    path = INQUIRIES.format(tenant="acme", slug="feedback")
    assert api.post(path, {"email": "a@example.com"}).status_code == 401
    assert api.post(path, {"email": "a@example.com"},
                    caller=basic_caller("api-client", "wrong")).status_code == 401
    # Another tenant's user on this tenant's path, and on its own path: not found.
    assert api.post(path, {"email": "a@example.com", "first_name": "M"},
                    caller=other_api_caller).status_code in (401, 403, 404)
    assert invite(api, other_api_caller, tenant_slug="other").status_code == 404
    assert not Inquiry.objects.exists()


def test_suppressed_recipient_gets_no_invitation(api, api_caller, tenant, survey):
    from doxie.messaging.services import suppress

    suppress(tenant=tenant, address="max@example.com", reason="bounce")
    response = invite(api, api_caller)
    assert response.status_code == 200
    message = Message.objects.get()
    assert message.status == "suppressed"
