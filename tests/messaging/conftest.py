"""Fixtures for messaging tests: brands wired to real local peers (aiosmtpd, the Mailjet and
seven.io fakes, moto), events with templates, a webhook receiver, and drain helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.db import connection

from doxie.brands.models import Brand, MailjetApiUser, SesApiUser, SmtpConfig
from doxie.messaging import delivery
from doxie.messaging.models import EmailTemplate, RcsTemplate, SmsTemplate
from doxie.processes.models import Event
from doxie.providers import registry
from tests.fakes.mailjet import FakeMailjet
from tests.fakes.moto_server import ACCESS_KEY, REGION, SECRET_KEY, MotoServer
from tests.fakes.seven import FakeSeven
from tests.fakes.smtp_server import FakeSmtpServer
from tests.fakes.webhook_receiver import WebhookReceiver

PUBLIC_URL = "https://doxie.example.test"
SENDER = "noreply@acme.example.com"


@pytest.fixture(autouse=True)
def _messaging_settings(settings, tmp_path) -> Path:
    settings.DOXIE_PUBLIC_URL = PUBLIC_URL
    settings.DOXIE_OUTBOX_DIR = tmp_path / "outbox"
    settings.DOXIE_ALLOW_PRIVATE_URLS = True
    return settings.DOXIE_OUTBOX_DIR


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    """Adapters cached by one test must not serve the next one (its peers are gone)."""
    yield
    async_to_sync(registry.aclose_all)()
    registry._sync_bucket.clear()


def _delete_jobs() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")
        cursor.execute("DELETE FROM procrastinate_periodic_defers")


@pytest.fixture
def clean_jobs() -> Iterator[None]:
    """procrastinate's tables are not flushed between transactional tests."""
    _delete_jobs()
    yield
    _delete_jobs()


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtpServer]:
    server = FakeSmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


def make_brand(tenant, slug: str = "acme-brand", *, smtp: FakeSmtpServer | None = None,
               mailjet: FakeMailjet | None = None, ses: MotoServer | None = None,
               seven: FakeSeven | None = None, **fields) -> Brand:
    """A brand sending through the given peers (email: SMTP, Mailjet or SES)."""
    values = {
        "name": slug, "slug": slug, "possible_sender_emails": [SENDER],
        "sender_phone_number": "+4915112345678", "rcs_possible_senders": ["acme_agent"],
        "messages_per_second": 1000,
    }
    values.update(fields)
    if smtp is not None:
        values["mail_provider"] = "smtp"
    elif mailjet is not None:
        values["mail_provider"] = "mailjet"
    elif ses is not None:
        values["mail_provider"] = "ses"
    if seven is not None:
        values.update(sms77_api_key=seven.api_key, rcs_api_key=seven.api_key)
    brand = Brand.objects.create(tenant=tenant, **values)
    if smtp is not None:
        SmtpConfig.objects.create(
            tenant=tenant, brand=brand, address=smtp.host, port=smtp.port,
            enable_starttls_auto=False, domain="client.doxie.test",
        )
    if mailjet is not None:
        MailjetApiUser.objects.create(tenant=tenant, brand=brand,
                                      public_api_key=mailjet.public_key,
                                      private_api_key=mailjet.private_key)
    if ses is not None:
        SesApiUser.objects.create(tenant=tenant, brand=brand, access_key_id=ACCESS_KEY,
                                  secret_access_key=SECRET_KEY, region=REGION)
    return brand


WELCOME_HTML = (
    "<p>Hallo {{ first_name }}, <a href='https://example.com/start?u={{ first_name }}'>"
    "los geht's</a> oder <a href=\"mailto:hilfe@acme.test\">Hilfe</a>.</p>"
)


def make_event(tenant, brand, slug: str = "welcome_email", *, email: int = 1, sms: int = 0,
               rcs: int = 0, parameters=None, **fields) -> Event:
    """A mailer event with ``email`` email templates (and SMS/RCS ones) in the seed's style."""
    event = Event.objects.create(
        tenant=tenant, brand=brand, slug=slug,
        parameters=parameters if parameters is not None else [
            {"name": "email", "required": True}, {"name": "first_name"}],
        **fields,
    )
    for i in range(email):
        EmailTemplate.objects.create(
            tenant=tenant, event=event, name="Willkommensmail" if i == 0 else f"Mail {i}",
            position=i, sender=SENDER, sender_name="Acme", to="{{ email }}",
            subject="Willkommen {{ first_name }}", html=WELCOME_HTML,
        )
    for i in range(sms):
        SmsTemplate.objects.create(
            tenant=tenant, event=event, name="Willkommenssms" if i == 0 else f"SMS {i}",
            position=i, to="{{ phone }}", text="Hallo {{ first_name }}",
        )
    for i in range(rcs):
        RcsTemplate.objects.create(
            tenant=tenant, event=event, name="Willkommens-RCS" if i == 0 else f"RCS {i}",
            position=i, to="{{ phone }}", sender="acme_agent",
            content={"text": "Hallo {{ first_name }}"},
        )
    return event


def drain(brand) -> int:
    """One drain run to completion on the test's connection (inside its transaction)."""
    return async_to_sync(delivery.drain_brand)(brand.id)


def mailer(api, caller, event_slug: str = "welcome_email", body=None, tenant: str = "acme",
           **kw):
    return api.post(f"/api/v1/{tenant}/mailer/{event_slug}", body if body is not None else {
        "email": "max@example.org", "first_name": "Max", "phone": "+491771234567"},
        caller=caller, **kw)
