"""The survey page as a plain form: GET shows (and records opened), pages, validation
errors with answers kept, partial answers, the final POST (response, counters, webhook),
single use, expiry, cancel, CSRF, summary and responses on the admin API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from doxie.processes.models import Process
from doxie.surveys import services
from doxie.surveys.models import AnswerCount, Inquiry, SurveyResponse
from doxie.webhooks.models import WebhookInteraction
from doxie.webhooks.services import create_endpoint
from tests.surveys.conftest import invite

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(api, api_caller, survey) -> str:
    """The path of a fresh inquiry's link (the token straight from the sealed message)."""
    from doxie.messaging.models import Message
    from doxie.messaging.secret_links import unseal

    response = invite(api, api_caller)
    assert response.status_code == 200, response.content
    message = Message.objects.filter(channel="email").latest("id")
    url = unseal(message.secret_values, encrypted=False)["survey_url"]
    return "/" + url.split("/", 3)[3]


@pytest.fixture
def browser() -> Client:
    return Client(enforce_csrf_checks=True)


def _csrf(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.content
    return response.cookies["csrftoken"].value if "csrftoken" in response.cookies \
        else client.cookies["csrftoken"].value


def post(client: Client, path: str, data: dict, *, token: str | None = None):
    token = token or client.cookies["csrftoken"].value
    return client.post(path, {"csrfmiddlewaretoken": token, **data})


def test_get_shows_the_first_page_and_records_opened_once(browser, link):
    response = browser.get(link)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Wie wahrscheinlich empfehlen Sie uns?" in html and "Seite 1 von 2" in html
    assert 'name="q_nps"' in html and "<script" not in html
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert response["Cache-Control"] == "no-store" and response["X-Frame-Options"] == "DENY"
    inquiry = Inquiry.objects.get()
    assert inquiry.state == "opened" and inquiry.opened_at is not None
    first = inquiry.opened_at
    browser.get(link)
    inquiry.refresh_from_db()
    assert inquiry.opened_at == first
    # HEAD shows, records nothing new.
    assert browser.head(link).status_code == 200


def test_validation_errors_reshow_the_page_with_answers(browser, link):
    _csrf(browser, link)
    response = post(browser, link, {"page": "0", "action": "next", "q_nps": "11",
                                    "q_channel": "Freunde"})
    html = response.content.decode()
    assert response.status_code == 422
    assert "Bitte einen Wert von 0 bis 10 wählen." in html
    assert 'value="Freunde" checked' in html  # the answer given is kept
    assert Inquiry.objects.get().page == 0

    response = post(browser, link, {"page": "0", "action": "next", "q_channel": "Telepathie"})
    html = response.content.decode()
    assert "Bitte beantworten Sie diese Frage." in html  # nps is required
    assert "Bitte eine der Antworten wählen." in html


def test_two_pages_partial_answers_and_the_final_post(browser, link, tenant, receiver_endpoint):
    _csrf(browser, link)
    # A low score shows the follow-up question on the same page; it is validated as text.
    response = post(browser, link, {"page": "0", "action": "next", "q_nps": "4",
                                    "q_channel": "Suche", "q_why_low": "Preis"})
    assert response.status_code == 200 and "Seite 2 von 2" in response.content.decode()
    inquiry = Inquiry.objects.get()
    assert inquiry.answers == {"nps": 4, "channel": "Suche", "why_low": "Preis"}
    assert inquiry.page == 1

    # Coming back later: the link opens the page reached, the earlier answers kept.
    again = Client(enforce_csrf_checks=True)
    token = _csrf(again, link)
    assert "Seite 2 von 2" in again.get(link).content.decode()
    back = post(again, link, {"page": "1", "action": "back"}, token=token)
    assert 'value="4" checked' in back.content.decode()

    response = post(again, link, {"page": "1", "action": "submit", "q_mail": "nope"},
                    token=token)
    assert response.status_code == 422 and "gültige E-Mail-Adresse" in response.content.decode()

    with CaptureQueriesContext(connection) as queries:
        response = post(again, link, {"page": "1", "action": "submit",
                                      "q_topics": ["Gas", "solar"], "q_remarks": "Gut"},
                        token=token)
    html = response.content.decode()
    assert response.status_code == 200 and "Vielen Dank" in html
    assert "<b>Ihre</b>" in html and "alert(1)" not in html  # completedHtml sanitized
    assert len(queries) <= 13, "\n".join(q["sql"][:150] for q in queries.captured_queries)

    inquiry.refresh_from_db()
    expected = {"nps": 4, "channel": "Suche", "why_low": "Preis",
                "topics": ["Gas", "solar"], "remarks": "Gut"}
    assert inquiry.state == "finished" and inquiry.answers == expected
    assert SurveyResponse.objects.get().answers == expected
    assert Process.objects.get().status == "finished"
    counts = dict(((c.question, c.option), c.count) for c in AnswerCount.objects.all())
    assert counts[("", "")] == 1 and counts[("nps", "4")] == 1 and counts[("topics", "Gas")] == 1
    interaction = WebhookInteraction.objects.get()
    body = interaction.transaction_payload
    assert body["answers"] == expected and body["inquiry_id"] == str(inquiry.uuid)
    assert body["original_event_slug"] == "feedback"
    assert link.rsplit("/", 1)[1] not in str(body)

    # Single use: the link now answers 409, GET and POST, and nothing is stored twice.
    assert again.get(link).status_code == 409
    assert post(again, link, {"page": "1", "action": "submit"}, token=token).status_code == 409
    assert SurveyResponse.objects.count() == 1 and WebhookInteraction.objects.count() == 1


@pytest.fixture
def receiver_endpoint(tenant):
    create_endpoint(tenant=tenant, type="Webhook::SurveyResponseEndpoint",
                    url="https://hooks.example.test/survey", send_original_payload=True)


def test_page_index_cannot_skip_ahead(browser, link):
    _csrf(browser, link)
    response = post(browser, link, {"page": "1", "action": "submit", "q_remarks": "x"})
    assert "Seite 1 von 2" in response.content.decode()
    assert not SurveyResponse.objects.exists()


def test_csrf_is_required(browser, link):
    browser.get(link)
    response = browser.post(link, {"page": "0", "action": "next", "q_nps": "5"})
    assert response.status_code == 403
    assert Inquiry.objects.get().answers == {}


def test_expired_cancelled_unknown(api, api_caller, browser, link, tenant):
    assert browser.get("/s/unknowntoken123").status_code == 404
    Inquiry.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert browser.get(link).status_code == 410
    Inquiry.objects.update(expires_at=timezone.now() + timedelta(days=1))

    process = Process.objects.get()
    response = api.post(f"/api/v1/acme/processes/{process.uuid}/cancel", None,
                        caller=api_caller)
    assert response.status_code == 200, response.content
    assert response.json()["data"]["cancelled_messages"] == 1  # email only: no SMS
    assert browser.get(link).status_code == 410
    assert Inquiry.objects.get().state == "cancelled"


def test_summary_and_responses_admin_api(api, admin, reader, other_admin, tenant, survey):
    inquiries = []
    for score, topics in ((10, ["Strom"]), (9, ["Strom", "Gas"]), (3, [])):
        result = services.invite(tenant=tenant, event_slug="feedback",
                                 payload={"email": "a@example.com", "first_name": "A"})
        inquiries.append(result.inquiry)
        answers = {"nps": score, **({"topics": topics} if topics else {})}
        services._finish(result.inquiry, services.d.load(survey.definition), answers)

    response = api.get("/api/v1/acme/admin/surveys/feedback/summary", caller=reader)
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["responses"] == 3
    nps = next(q for q in data["questions"] if q["name"] == "nps")
    assert nps["answered"] == 3 and nps["mean"] == 7.33 and nps["nps"] == 33.3
    topics = next(q for q in data["questions"] if q["name"] == "topics")
    assert topics["counts"] == {"Strom": 2, "Gas": 1, "solar": 0}

    response = api.get("/api/v1/acme/admin/surveys/feedback/responses?limit=2", caller=admin)
    assert response.status_code == 200
    page = response.json()["data"]
    assert page["pagination"]["total_count"] == 3 and len(page["responses"]) == 2
    assert api.get("/api/v1/acme/admin/surveys/feedback/responses?limit=0",
                   caller=admin).status_code == 422
    assert api.get("/api/v1/acme/admin/surveys/feedback/summary").status_code == 401
    assert api.get("/api/v1/acme/admin/surveys/feedback/summary",
                   caller=other_admin).status_code in (403, 404)
    assert api.get("/api/v1/other/admin/surveys/feedback/summary",
                   caller=other_admin).status_code == 404
