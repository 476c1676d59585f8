"""P3 Mailer: response shape, validation, isolation, rendering outcomes, tracked links and the
constant query count. Delivery itself is covered by the delivery tests."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from doxie.messaging import secret_links
from doxie.messaging.models import EmailTemplate, Message, MessageStatusEvent, TrackedLink
from doxie.processes.models import Event, Process
from tests.messaging.conftest import PUBLIC_URL, SENDER, mailer, make_brand, make_event

PAYLOAD = {"email": "max@example.org", "first_name": "Max", "phone": "+491771234567"}


@pytest.fixture
def brand(tenant, smtp_server):
    return make_brand(tenant, smtp=smtp_server)


@pytest.mark.django_db
def test_seed_response_and_rows(api, api_caller, tenant, brand):
    make_event(tenant, brand, sms=1)
    response = mailer(api, api_caller)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "success", "error_message", "process_uuid", "sent_email_templates",
        "sent_sms_templates", "sent_rcs_templates",
    }
    assert body["success"] is True and body["error_message"] is None
    [email], [sms] = body["sent_email_templates"], body["sent_sms_templates"]
    assert set(email) == {"template_name", "success", "message_id", "error_message"}
    assert email["template_name"] == "Willkommensmail" and email["success"] is True
    assert sms["template_name"] == "Willkommenssms" and sms["success"] is True
    process = Process.objects.get(uuid=body["process_uuid"])
    assert process.tenant == tenant and process.original_payload == PAYLOAD
    assert process.status == "active"
    mail = Message.objects.get(id=email["message_id"])
    assert (mail.channel, mail.status, mail.recipient) == ("email", "queued", "max@example.org")
    assert (mail.sender, mail.sender_name, mail.subject) == (SENDER, "Acme", "Willkommen Max")
    text = Message.objects.get(id=sms["message_id"])
    assert (text.recipient, text.text, text.sender) == ("+491771234567", "Hallo Max",
                                                       "+4915112345678")
    assert list(MessageStatusEvent.objects.filter(message=mail).values_list("status", flat=True)
                ) == ["queued"]


@pytest.mark.django_db
def test_links_are_tracked_and_text_is_derived(api, api_caller, tenant, brand):
    make_event(tenant, brand)
    body = mailer(api, api_caller).json()
    message = Message.objects.get(id=body["sent_email_templates"][0]["message_id"])
    [link] = TrackedLink.objects.filter(message=message)
    assert link.url == "https://example.com/start?u=Max"
    tracked = f"{PUBLIC_URL}/l/{link.token}"
    assert f'href="{tracked}"' in message.html
    assert 'href="mailto:hilfe@acme.test"' in message.html  # not tracked
    assert message.text == f"Hallo Max, los geht's ({tracked}) oder Hilfe."


@pytest.mark.django_db
def test_tracking_off_keeps_links_and_html_is_escaped(api, api_caller, tenant, brand):
    event = make_event(tenant, brand)
    EmailTemplate.objects.filter(event=event).update(
        track_links=False, text="Text {{ first_name }}")
    body = mailer(api, api_caller, body={**PAYLOAD, "first_name": "<b>Max</b>"}).json()
    message = Message.objects.get(id=body["sent_email_templates"][0]["message_id"])
    assert "https://example.com/start?u=&lt;b&gt;Max&lt;/b&gt;" in message.html
    assert "Hallo &lt;b&gt;Max&lt;/b&gt;" in message.html
    assert message.text == "Text <b>Max</b>"  # text is not HTML: no escaping
    assert not TrackedLink.objects.exists()


@pytest.mark.django_db
def test_missing_required_parameters_are_listed(api, api_caller, tenant, brand):
    make_event(tenant, brand, parameters=[
        {"name": "email", "required": True}, {"name": "contract", "required": True},
        {"name": "first_name"}])
    response = mailer(api, api_caller, body={"first_name": "Max", "email": " "})
    assert response.status_code == 422
    body = response.json()
    assert body["success"] is False and "email" in body["error_message"]
    assert body["details"] == [
        {"field": "email", "message": "is required"},
        {"field": "contract", "message": "is required"},
    ]
    assert not Process.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("payload", [[1, 2], "text", 42, None])
def test_payload_must_be_an_object(api, api_caller, tenant, brand, payload):
    make_event(tenant, brand)
    response = api.post("/api/v1/acme/mailer/welcome_email", raw=__import__("json").dumps(
        payload).encode(), caller=api_caller)
    assert response.status_code == 422
    assert response.json()["success"] is False


@pytest.mark.django_db
def test_unknown_event_and_wrong_kind(api, api_caller, tenant, brand):
    assert mailer(api, api_caller, "nope").status_code == 404
    make_event(tenant, brand, slug="scan-me", kind="qr")
    response = mailer(api, api_caller, "scan-me")
    assert response.status_code == 422
    assert "qr event" in response.json()["error_message"]


@pytest.mark.django_db
def test_authentication_and_tenant_isolation(api, api_caller, other_api_caller, tenant,
                                             other_tenant, brand):
    make_event(tenant, brand)
    other_brand = make_brand(other_tenant, "other-brand")
    make_event(other_tenant, other_brand, slug="theirs")
    assert mailer(api, None).status_code == 401
    assert "WWW-Authenticate" in mailer(api, None)
    # Another tenant's API user cannot use our tenant path…
    assert mailer(api, other_api_caller).status_code == 401
    # …and our user cannot reach the other tenant's event through our path.
    assert mailer(api, api_caller, "theirs").status_code == 404
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_render_error_and_bad_recipient_isolate_one_template(api, api_caller, tenant, brand):
    event = make_event(tenant, brand, email=3)
    EmailTemplate.objects.filter(event=event, name="Mail 1").update(
        subject="Hallo {{ nickname }}")
    EmailTemplate.objects.filter(event=event, name="Mail 2").update(to="{{ first_name }}")
    body = mailer(api, api_caller).json()
    first, broken, bad_to = body["sent_email_templates"]
    assert first["success"] is True and first["message_id"]
    assert broken == {"template_name": "Mail 1", "success": False, "message_id": None,
                      "error_message": "subject: 'nickname' is undefined"}
    assert bad_to["success"] is False and "'Max' is not a valid email" in bad_to["error_message"]
    assert body["success"] is True
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_all_templates_failing_finishes_the_process(api, api_caller, tenant, brand):
    event = make_event(tenant, brand)
    EmailTemplate.objects.filter(event=event).update(html="{{ missing }}")
    body = mailer(api, api_caller).json()
    assert body["success"] is False and body["error_message"]
    assert Process.objects.get(uuid=body["process_uuid"]).status == "finished"


@pytest.mark.django_db
def test_several_recipients_one_message_each(api, api_caller, tenant, brand):
    event = make_event(tenant, brand)
    EmailTemplate.objects.filter(event=event).update(to="{{ email }}, {{ cc }}; {{ email }}")
    body = mailer(api, api_caller, body={**PAYLOAD, "cc": "Anna@Example.org"}).json()
    rows = list(Message.objects.order_by("id").values_list("recipient", flat=True))
    assert rows == ["max@example.org", "anna@example.org"]
    assert body["sent_email_templates"][0]["message_id"] == Message.objects.order_by("id")[0].id
    tokens = set(TrackedLink.objects.values_list("token", flat=True))
    assert len(tokens) == 2  # every recipient's clicks are told apart


@pytest.mark.django_db
def test_suppressed_recipient_is_stored_not_queued(api, api_caller, tenant, brand):
    from doxie.messaging import services

    event = make_event(tenant, brand)
    EmailTemplate.objects.filter(event=event).update(to="{{ email }}, anna@example.org")
    assert services.suppress(tenant=tenant, address="MAX@example.org", reason="hard_bounce")
    assert not services.suppress(tenant=tenant, address="max@example.org", reason="again")
    body = mailer(api, api_caller).json()
    [result] = body["sent_email_templates"]
    assert result["success"] is True
    assert result["error_message"] == (
        "max@example.org is on the suppression list (hard_bounce)")
    statuses = dict(Message.objects.values_list("recipient", "status"))
    assert statuses == {"max@example.org": "suppressed", "anna@example.org": "queued"}
    assert not TrackedLink.objects.filter(message__status="suppressed").exists()

    EmailTemplate.objects.filter(event=event).update(to="{{ email }}")
    body = mailer(api, api_caller).json()
    [result] = body["sent_email_templates"]
    assert result["success"] is False and result["message_id"] is not None
    assert body["success"] is False


def _confirmed_consent(tenant, brand, email: str) -> None:
    """A real confirmed consent, made through the consents app's own use cases."""
    from doxie.consents import services as consents
    from doxie.consents.models import ConsentPurpose

    purpose, _ = ConsentPurpose.objects.get_or_create(
        tenant=tenant, slug="newsletter", defaults={
            "name": "Newsletter", "brand": brand, "doi_email_sender": SENDER,
            "doi_email_subject": "Bitte bestätigen", "resend_throttle_seconds": 0,
            "doi_email_html": "<a href='{{ confirmation_url }}'>ok</a>"})
    consents.initiate(tenant=tenant, customer_id=email, consent_slug=purpose.slug, email=email,
                      actor=consents.Actor("api_user:test"))
    doi = Message.objects.filter(recipient=email).latest("id")
    link = secret_links.unseal(doi.secret_values, encrypted=False)["confirmation_url"]
    token = re.search(r"/doi/([A-Za-z0-9_-]+)", link).group(1)
    consents.confirm(token=token, ip="203.0.113.9", user_agent="pytest")


@pytest.mark.django_db
def test_required_consent_gates_recipients(api, api_caller, tenant, brand):
    event = make_event(tenant, brand, required_consent_slug="newsletter")
    EmailTemplate.objects.filter(event=event).update(to="{{ email }}, anna@example.org")
    _confirmed_consent(tenant, brand, "anna@example.org")
    body = mailer(api, api_caller).json()
    [result] = body["sent_email_templates"]
    assert result["success"] is True
    assert result["error_message"] == "max@example.org has no confirmed consent for 'newsletter'"
    statuses = dict(Message.objects.filter(process__uuid=body["process_uuid"])
                    .values_list("recipient", "status"))
    assert statuses == {"max@example.org": "suppressed", "anna@example.org": "queued"}


@pytest.mark.django_db
def test_idempotency_key_replays_and_conflicts(api, api_caller, tenant, brand):
    make_event(tenant, brand)
    key = {"Idempotency-Key": "order-4711"}
    first = mailer(api, api_caller, headers=key)
    again = mailer(api, api_caller, headers=key,
                   body=dict(reversed(list(PAYLOAD.items()))))  # same body, other key order
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Message.objects.count() == 1 and Process.objects.count() == 1

    other = mailer(api, api_caller, headers=key, body={**PAYLOAD, "first_name": "Moritz"})
    assert other.status_code == 409
    assert mailer(api, api_caller, headers={"Idempotency-Key": "x" * 256}).status_code == 422
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_idempotency_key_expires_and_failures_are_not_stored(api, api_caller, tenant, brand):
    from datetime import timedelta

    from doxie.messaging.models import IdempotencyRecord

    key = {"Idempotency-Key": "k1"}
    assert mailer(api, api_caller, headers=key).status_code == 404  # no event yet
    make_event(tenant, brand)
    assert mailer(api, api_caller, headers=key).status_code == 200  # not a replay of the 404
    IdempotencyRecord.objects.update(created_at=IdempotencyRecord.objects.get().created_at
                                     - timedelta(hours=25))
    assert "Idempotent-Replayed" not in mailer(api, api_caller, headers=key)
    assert Message.objects.count() == 2


@pytest.mark.django_db
def test_query_count_does_not_grow_with_templates(api, api_caller, tenant, brand):
    make_event(tenant, brand, slug="one", email=1)
    make_event(tenant, brand, slug="five", email=3, sms=1, rcs=1)
    mailer(api, api_caller, "one")  # warm-up: auth cache, compiled templates
    counts = []
    for slug in ("one", "five"):
        with CaptureQueriesContext(connection) as queries:
            response = mailer(api, api_caller, slug, headers={"Idempotency-Key": slug})
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert Message.objects.filter(process__event__slug="five").count() == 5


@pytest.mark.django_db
def test_rcs_template(api, api_caller, tenant, brand):
    make_event(tenant, brand, email=0, rcs=1)
    body = mailer(api, api_caller).json()
    [result] = body["sent_rcs_templates"]
    message = Message.objects.get(id=result["message_id"])
    assert message.rcs_content == {"text": "Hallo Max"} and message.sender == "acme_agent"
    assert Event.objects.get().slug == "welcome_email"


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_send_once(smtp_server):
    """The unique index serialises them: one request works, the other replays its answer."""
    import threading

    from tests.helpers import ApiClient, make_api_caller, make_tenant

    tenant = make_tenant("acme")
    caller = make_api_caller(tenant)
    make_event(tenant, make_brand(tenant, smtp=smtp_server))
    barrier = threading.Barrier(4)
    answers: list = []

    def post() -> None:
        try:
            barrier.wait(10)
            answers.append(mailer(ApiClient(), caller, headers={"Idempotency-Key": "race"}))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.json()["process_uuid"] for a in answers}) == 1
    assert sum(1 for a in answers if "Idempotent-Replayed" in a) == 3
    assert Message.objects.count() == 1 and Process.objects.count() == 1
