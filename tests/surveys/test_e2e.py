"""End to end with real peers: P5 → worker → aiosmtpd receives the invitation → headless
Chromium fills page 1, goes to page 2 and submits → the survey_response webhook reaches a
real receiver and verifies with ``standardwebhooks``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from standardwebhooks.webhooks import Webhook

from doxie.brands.models import SmtpConfig
from doxie.surveys.models import Inquiry
from doxie.webhooks.services import create_endpoint
from tests.consents.browser import ARGS, CHROMIUM, require_chromium
from tests.fakes.smtp_server import FakeSmtpServer
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.helpers import run_jobs
from tests.surveys.conftest import invite, link_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtpServer]:
    server = FakeSmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def live(settings, live_server, smtp_server, brand, survey, clean_jobs):
    settings.DOXIE_PUBLIC_URL = live_server.url
    settings.DOXIE_ALLOW_PRIVATE_URLS = True
    brand.mail_provider = "smtp"
    brand.messages_per_second = 1000
    brand.save()
    SmtpConfig.objects.create(tenant=brand.tenant, brand=brand, address=smtp_server.host,
                              port=smtp_server.port, enable_starttls_auto=False)
    return live_server


def _fill_in_chromium(url: str) -> dict:
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            first = page.goto(url)
            page.get_by_label("9", exact=True).check()
            page.get_by_label("Freunde").check()
            with page.expect_navigation():
                page.click("#next")
            second = page.inner_text("body")
            page.get_by_label("Gas").check()
            page.fill("#q-remarks", "Alles gut")
            with page.expect_navigation() as navigation:
                page.click("#submit")
            return {"first": first.status, "second": second,
                    "final": navigation.value.status, "final_text": page.inner_text("body")}
        finally:
            browser.close()


def test_invited_by_email_answered_in_chromium_webhook_verified(
    api, api_caller, tenant, live, smtp_server, receiver
):
    _, secret = create_endpoint(tenant=tenant, type="Webhook::SurveyResponseEndpoint",
                                url=receiver.url("/survey"), send_original_payload=True)
    response = invite(api, api_caller)
    assert response.status_code == 200, response.content
    process_uuid = response.json()["process_uuid"]

    run_jobs()

    [received] = smtp_server.received
    assert received.rcpt_tos == ["max@example.com"]
    html = received.message.get_body(preferencelist=("html",)).get_content()
    url = link_in(html)
    assert url.startswith(f"{live.url}/s/")

    result = _fill_in_chromium(url)

    assert result["first"] == 200 and "Seite 2 von 2" in result["second"]
    assert result["final"] == 200 and "Vielen Dank" in result["final_text"]
    inquiry = Inquiry.objects.get()
    answers = {"nps": 9, "channel": "Freunde", "topics": ["Gas"], "remarks": "Alles gut"}
    assert inquiry.state == "finished" and inquiry.answers == answers

    run_jobs()

    assert receiver.wait_for(1)
    hit = receiver.hits("/survey")[0]
    assert hit.header("Doxie-Event") == "survey_response"
    payload = Webhook(secret).verify(hit.body, hit.headers)
    assert payload["process_id"] == process_uuid and payload["inquiry_id"] == str(inquiry.uuid)
    assert payload["answers"] == answers and payload["completed_at"].endswith("Z")
    assert payload["original_event_slug"] == "feedback"
    assert payload["original_payload"]["first_name"] == "Max"
    assert url.rsplit("/", 1)[1] not in hit.body.decode()
