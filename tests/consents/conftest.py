"""Fixtures for the consent tests: a brand with a style, purposes with DOI templates, and
helpers to read what P1 queued."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from doxie.brands.models import Brand, SmtpConfig, Style
from doxie.consents.models import ConsentPurpose
from doxie.providers import registry
from tests.fakes.seven import FakeSeven
from tests.fakes.smtp_server import FakeSmtpServer
from tests.fakes.webhook_receiver import WebhookReceiver

PUBLIC_URL = "https://doxie.example.test"


@pytest.fixture(autouse=True)
def _public_url(settings) -> None:
    settings.DOXIE_PUBLIC_URL = PUBLIC_URL


@pytest.fixture(autouse=True)
def _outbox(settings, tmp_path) -> Path:
    settings.DOXIE_OUTBOX_DIR = tmp_path / "outbox"
    return settings.DOXIE_OUTBOX_DIR


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    """Adapters cached by one test must not serve the next one (its peers are gone)."""
    yield
    from asgiref.sync import async_to_sync

    async_to_sync(registry.aclose_all)()
    registry._sync_bucket.clear()


def make_brand(tenant, slug: str = "acme-brand", **fields) -> Brand:
    brand = Brand.objects.create(
        tenant=tenant, name=fields.pop("name", "Acme Energie"), slug=slug, **fields
    )
    Style.objects.create(
        tenant=tenant, brand=brand, primary_color="#aa0033", secondary_color="#0044cc",
        light_accent_color="#fafafa", dark_accent_color="#111111", border_radius="8px",
        font_family="Open Sans",
    )
    return brand


def make_purpose(tenant, brand, slug: str = "marketing", **fields) -> ConsentPurpose:
    values = {
        "name": "Marketing",
        "doi_email_sender": "noreply@acme.example",
        "doi_email_sender_name": "Acme",
        "doi_email_subject": "Bitte bestätigen Sie Ihre Einwilligung ({{ purpose_name }})",
        "doi_email_html": (
            "<p>Hallo {{ customer_id }},</p>"
            "<p><a href='{{ confirmation_url }}'>Jetzt bestätigen</a></p>"
        ),
        "doi_email_text": "Bitte bestätigen: {{ confirmation_url }}",
        "doi_sms_text": "Bitte bestätigen: {{ confirmation_url }}",
        **fields,
    }
    return ConsentPurpose.objects.create(tenant=tenant, brand=brand, slug=slug, **values)


@pytest.fixture
def brand(tenant) -> Brand:
    return make_brand(tenant)


@pytest.fixture
def purpose(tenant, brand) -> ConsentPurpose:
    return make_purpose(tenant, brand)


@pytest.fixture
def other_purpose(other_tenant) -> ConsentPurpose:
    return make_purpose(other_tenant, make_brand(other_tenant, slug="other-brand"), "newsletter")


def delete_jobs() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")
        cursor.execute("DELETE FROM procrastinate_periodic_defers")


@pytest.fixture
def clean_jobs() -> Iterator[None]:
    """procrastinate's tables are unmanaged: transactional tests' flush leaves them."""
    delete_jobs()
    yield
    delete_jobs()


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
def fake_seven(settings) -> Iterator[FakeSeven]:
    fake = FakeSeven(api_key="seven-key").start()
    settings.DOXIE_SEVEN_API_URL = fake.url
    yield fake
    fake.stop()


@pytest.fixture
def live(settings, live_server, smtp_server, brand, clean_jobs):
    """The live server is the public URL; the brand sends through the aiosmtpd server."""
    settings.DOXIE_PUBLIC_URL = live_server.url
    settings.DOXIE_ALLOW_PRIVATE_URLS = True
    brand.mail_provider = "smtp"
    brand.messages_per_second = 1000
    brand.save()
    SmtpConfig.objects.create(tenant=brand.tenant, brand=brand, address=smtp_server.host,
                              port=smtp_server.port, enable_starttls_auto=False)
    return live_server
