"""The /doi/<token> pages through Django's real request stack (CSRF enforced): GET shows,
only the button's POST confirms, every other state is a friendly page."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from doxie.consents.models import Consent, ConsentLedgerEntry, ConsentStatus
from doxie.webhooks.models import WebhookInteraction
from doxie.webhooks.services import create_endpoint
from tests.consents.support import path_of, start

pytestmark = pytest.mark.django_db

UA = "Mozilla/5.0 (X11; Linux x86_64) DoxieTest/1.0"


@pytest.fixture
def browser() -> Client:
    return Client(enforce_csrf_checks=True, HTTP_USER_AGENT=UA)


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def _press_button(client: Client, path: str, **extra):
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, {"csrfmiddlewaretoken": _csrf(page.content.decode())}, **extra)


def test_get_shows_a_branded_page_and_never_confirms(browser, tenant, purpose):
    consent, url = start(tenant)

    for _ in range(3):
        response = browser.get(path_of(url))
        assert response.status_code == 200
    head = browser.head(path_of(url))

    assert head.status_code == 200
    html = response.content.decode()
    assert "Jetzt bestätigen" in html and "Marketing" in html and "Acme Energie" in html
    assert "#aa0033" in html and '"Open Sans"' in html  # the brand's style
    assert '<form method="post">' in html
    csp = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert f'<style nonce="{nonce}">' in html
    assert "default-src 'none'" in csp and "form-action 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cache-Control"] == "no-store"
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.PENDING
    assert not ConsentLedgerEntry.objects.filter(kind="confirmed").exists()


def test_post_confirms_records_proof_and_emits_the_webhook(browser, tenant, purpose):
    create_endpoint(tenant=tenant, type="Webhook::DoiConfirmationEndpoint",
                    url="http://127.0.0.1:9/hook")
    consent, url = start(tenant)

    response = _press_button(browser, path_of(url), REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 200
    assert "Vielen Dank" in response.content.decode()
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.CONFIRMED and consent.confirmed_at
    assert consent.confirmed_ip == "203.0.113.7" and consent.confirmed_user_agent == UA
    entry = ConsentLedgerEntry.objects.get(kind="confirmed")
    assert entry.ip == "203.0.113.7" and entry.user_agent == UA
    assert entry.actor == "ip:203.0.113.7" and entry.consent_id == consent.id
    assert "Jetzt bestätigen" in entry.shown_text and "Marketing" in entry.shown_text
    interaction = WebhookInteraction.objects.get(event="doi_confirmation")
    assert interaction.sent_payload == {
        "identifier": str(consent.process.uuid),
        "timestamp": interaction.sent_payload["timestamp"],
        "ipAddress": "203.0.113.7",
    }
    assert interaction.sent_payload["timestamp"].endswith("Z")
    assert interaction.process_id == str(consent.process.uuid)


def test_forwarded_for_is_honoured_only_from_trusted_proxies(browser, settings, tenant, purpose):
    consent, url = start(tenant)
    spoofed = _press_button(browser, path_of(url), REMOTE_ADDR="198.51.100.1",
                            HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert spoofed.status_code == 200
    consent.refresh_from_db()
    assert consent.confirmed_ip == "198.51.100.1"

    settings.DOXIE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    other, url2 = start(tenant, customer_id="c-2", email="b@example.com")
    _press_button(Client(enforce_csrf_checks=True), path_of(url2), REMOTE_ADDR="10.1.1.1",
                  HTTP_X_FORWARDED_FOR="1.2.3.4, 10.2.2.2")
    other.refresh_from_db()
    assert other.confirmed_ip == "1.2.3.4"


def test_success_redirect_is_a_303_and_allowed_by_the_csp(browser, tenant, purpose):
    purpose.success_redirect_url = "https://www.acme.example/danke?x=1"
    purpose.save()
    _, url = start(tenant)

    page = browser.get(path_of(url))
    assert "form-action 'self' https://www.acme.example" in page["Content-Security-Policy"]
    response = browser.post(path_of(url), {"csrfmiddlewaretoken": _csrf(page.content.decode())})

    assert response.status_code == 303
    assert response["Location"] == "https://www.acme.example/danke?x=1"
    assert response["Referrer-Policy"] == "same-origin"


def test_custom_success_page_is_sanitized(browser, tenant, purpose):
    purpose.success_page_html = (
        "<p>Danke!</p><script>alert(1)</script><img src=x onerror=alert(2)>"
        "<a href='javascript:alert(3)'>x</a>"
    )
    purpose.save()
    _, url = start(tenant)

    html = _press_button(browser, path_of(url)).content.decode()

    assert "<p>Danke!</p>" in html
    assert "<script>" not in html and "onerror" not in html and "javascript:" not in html


def test_post_without_csrf_token_is_refused_with_a_friendly_page(browser, tenant, purpose):
    consent, url = start(tenant)

    response = browser.post(path_of(url))

    assert response.status_code == 403
    html = response.content.decode()
    assert "Bestätigung nicht möglich" in html and "CSRF" not in html
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.PENDING


def test_reused_link_shows_already_confirmed(browser, tenant, purpose):
    _, url = start(tenant)
    _press_button(browser, path_of(url))

    again = browser.get(path_of(url))
    assert again.status_code == 200 and "Bereits bestätigt" in again.content.decode()
    assert "<form" not in again.content.decode()
    second_post = _press_button_or_post(browser, path_of(url))
    assert second_post.status_code == 200
    assert ConsentLedgerEntry.objects.filter(kind="confirmed").count() == 1


def _press_button_or_post(client: Client, path: str):
    client.get(path)
    token = client.cookies["csrftoken"].value  # the cookie from the first visit; still valid
    return client.post(path, {"csrfmiddlewaretoken": token})


@pytest.mark.parametrize(
    ("change", "status", "text"),
    [
        ({"expires_at": "2000-01-01T00:00:00Z"}, 410, "Link abgelaufen"),
        ({"status": "expired"}, 410, "Link abgelaufen"),
        ({"status": "revoked"}, 410, "Einwilligung widerrufen"),
    ],
)
def test_dead_links_show_clear_pages(browser, tenant, purpose, change, status, text):
    consent, url = start(tenant)
    Consent.objects.filter(pk=consent.pk).update(**change)

    page = browser.get(path_of(url))
    assert page.status_code == status and text in page.content.decode()
    assert "Content-Security-Policy" in page
    posted = browser.post(path_of(url), {"csrfmiddlewaretoken": "x" * 64})
    assert posted.status_code in (403, status)
    consent.refresh_from_db()
    assert consent.status != ConsentStatus.CONFIRMED


@pytest.mark.parametrize("path", ["/doi/not-a-real-token", "/d/short", "/doi/" + "x" * 300])
def test_unknown_tokens_are_a_404_page(browser, purpose, path):
    response = browser.get(path)
    assert response.status_code == 404
    assert "Link unbekannt" in response.content.decode()


def test_replaced_link_after_a_resend_is_unknown(browser, tenant, purpose):
    consent, old_url = start(tenant)
    purpose.resend_throttle_seconds = 0
    purpose.save()
    _, new_url = start(tenant)
    assert new_url != old_url
    assert browser.get(path_of(old_url)).status_code == 404
    assert browser.get(path_of(new_url)).status_code == 200


def test_other_methods_get_a_405_page(browser, tenant, purpose):
    _, url = start(tenant)
    response = browser.put(path_of(url))
    assert response.status_code == 405 and "GET, HEAD, POST" in response["Allow"]
