"""Tracked links ``/l/{token}``: click counting, status, ``link_clicked`` and the redirect."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from doxie.messaging.models import Message, MessageStatusEvent, TrackedLink
from doxie.webhooks.models import WebhookInteraction
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.helpers import run_jobs
from tests.inbound.support import (
    LINK_ENDPOINT,
    ORIGINAL,
    STATUS_ENDPOINT,
    delete_jobs,
    make_brand,
    make_endpoint,
    make_message,
    make_process,
    received,
)

URL = "https://example.com/offer?utm_source=doxie&x=1"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def clean_jobs() -> Iterator[None]:
    delete_jobs()
    yield
    delete_jobs()


def make_link(message: Message, url: str = URL) -> TrackedLink:
    return TrackedLink.objects.create(
        tenant_id=message.tenant_id, message=message, url=url, token=secrets.token_urlsafe(16)
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("clean_jobs")
def test_click_counts_reports_and_redirects(tenant, receiver):
    brand = make_brand(tenant)
    process = make_process(brand)
    email = make_message(brand, process=process, recipient="john.doe@example.com")
    make_message(brand, process=process, recipient="jane.doe@example.com")
    make_message(brand, process=process, channel="sms", recipient="0123456789")
    make_message(brand, process=process, recipient="never@example.com", status="suppressed")
    link = make_link(email)
    _, link_secret = make_endpoint(tenant, receiver, type=LINK_ENDPOINT, path="/links")
    _, status_secret = make_endpoint(tenant, receiver, type=STATUS_ENDPOINT, path="/status")

    first = Client().get(f"/l/{link.token}")
    second = Client().get(f"/l/{link.token}")

    for response in (first, second):
        assert response.status_code == 302
        assert response["Location"] == URL
        assert response["Cache-Control"] == "no-store"
    link.refresh_from_db()
    email.refresh_from_db()
    assert link.clicks == 2 and link.first_clicked_at is not None
    assert email.status == "clicked"
    assert MessageStatusEvent.objects.filter(message=email, status="clicked").count() == 1

    run_jobs()
    clicks = received(receiver, link_secret, "link_clicked")
    assert len(clicks) == 2
    assert {k: v for k, v in clicks[0].items() if k != "timestamp"} == {
        "process_id": str(process.uuid),
        "url": URL,
        "recipients": "john.doe@example.com, jane.doe@example.com, 0123456789",
        "original_tenant_slug": "acme",
        "original_event_slug": "concert",
        "original_payload": ORIGINAL,
    }
    assert clicks[0]["timestamp"].endswith("Z")
    (status,) = received(receiver, status_secret, "message_status_update")
    assert (status["status"], status["message_id"]) == ("clicked", email.id)


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["unknown-token", "x" * 65, "bad%2Ftoken"])
def test_unknown_token_is_a_404_page_never_a_redirect(brand_message, token):
    make_link(brand_message)
    response = Client().get(f"/l/{token}")
    assert response.status_code == 404
    assert "Location" not in response
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_head_redirects_without_counting(brand_message, receiver):
    make_endpoint(brand_message.tenant, receiver, type=LINK_ENDPOINT)
    link = make_link(brand_message)
    response = Client().head(f"/l/{link.token}")
    assert response.status_code == 302 and response["Location"] == URL
    link.refresh_from_db()
    brand_message.refresh_from_db()
    assert (link.clicks, link.first_clicked_at, brand_message.status) == (0, None, "sent")
    assert not WebhookInteraction.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["javascript:alert(1)", "/relative/path", "data:text/html,x"])
def test_stored_unsafe_target_is_not_redirected(brand_message, url):
    link = make_link(brand_message, url=url)
    assert Client().get(f"/l/{link.token}").status_code == 404
    link.refresh_from_db()
    assert link.clicks == 0


@pytest.mark.django_db
def test_other_methods_are_405(brand_message):
    link = make_link(brand_message)
    assert Client().post(f"/l/{link.token}").status_code == 405


@pytest.mark.django_db
def test_query_count_does_not_grow_with_the_process(tenant, receiver):
    brand = make_brand(tenant)
    make_endpoint(tenant, receiver, type=LINK_ENDPOINT)
    make_endpoint(tenant, receiver, type=STATUS_ENDPOINT)

    def first_click_queries(recipients: int) -> int:
        process = make_process(brand)
        messages = [make_message(brand, process=process, recipient=f"r{i}@example.com")
                    for i in range(recipients)]
        link = make_link(messages[0])
        WebhookInteraction.objects.all().delete()
        delete_jobs()
        with CaptureQueriesContext(connection) as queries:
            assert Client().get(f"/l/{link.token}").status_code == 302
        return len(queries)

    assert first_click_queries(1) == first_click_queries(25)


@pytest.fixture
def brand_message(tenant) -> Message:
    return make_message(make_brand(tenant))
