"""providers.registry: the right adapter per brand configuration, each delivering a real
message to its peer; outbox/PermanentError without credentials; adapters reused per
configuration version."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from doxie.brands import selectors, services
from doxie.providers import registry
from doxie.providers.base import EmailMessage, PermanentError, RcsMessage, SmsMessage
from doxie.providers.email.mailjet import MailjetProvider
from doxie.providers.email.outbox import OutboxProvider
from doxie.providers.email.ses import SesProvider
from doxie.providers.email.smtp import SmtpProvider
from doxie.providers.rcs.seven import SevenRcsProvider
from doxie.providers.sms.outbox import OutboxRcsProvider, OutboxSmsProvider
from doxie.providers.sms.seven import SevenSmsProvider
from tests.brands.conftest import SMTP_PASSWORD, SMTP_USER
from tests.brands.payloads import make_bare_brand, make_brand
from tests.fakes.moto_server import ACCESS_KEY, REGION, SECRET_KEY


def _email(**overrides: Any) -> EmailMessage:
    values: dict[str, Any] = {
        "message_id": "01HXBRANDREGISTRY00000001",
        "sender": "news@acme.example",
        "to": ["jane@example.org"],
        "subject": "Hallo",
        "text": "Hallo Jane\n",
        "html": "<p>Hallo Jane</p>",
    }
    values.update(overrides)
    return EmailMessage(**values)


def _send_email(brand) -> tuple[Any, Any]:
    async def run():
        provider = registry.email_provider_for(brand)
        return provider, await provider.send_email(_email())

    return async_to_sync(run)()


@pytest.mark.django_db
def test_mailjet_brand_sends_through_mailjet(tenant, fake_mailjet):
    brand = make_brand(tenant, mail_provider="mailjet")
    provider, result = _send_email(brand)
    assert isinstance(provider, MailjetProvider)
    [sent] = fake_mailjet.sent
    assert sent["CustomID"] == "01HXBRANDREGISTRY00000001"
    assert sent["SandboxMode"] is True  # the brand's mailjet_sandbox_mode
    assert result.recipient_message_ids["jane@example.org"]


@pytest.mark.django_db
def test_ses_brand_sends_through_ses_with_its_configuration_set(tenant, aws):
    aws.client("sesv2").create_email_identity(EmailIdentity="acme.example")
    brand = make_brand(
        tenant,
        mail_provider="ses",
        ses_api_user_attributes={
            "access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY, "region": REGION,
        },
    )
    provider, result = _send_email(brand)
    assert isinstance(provider, SesProvider)
    assert provider.settings.endpoint_url == aws.endpoint_url
    assert provider.settings.configuration_set is None
    [sent] = aws.sent_emails()
    assert result.provider_message_id == sent["id"]
    assert sent["source"] == "news@acme.example"


@pytest.mark.django_db
def test_smtp_brand_sends_through_smtp_with_starttls_and_auth(tenant, smtp_server):
    brand = make_brand(
        tenant,
        mail_provider="smtp",
        smtp_config_attributes={
            "address": smtp_server.host, "port": smtp_server.port, "user_name": SMTP_USER,
            "password": SMTP_PASSWORD, "authentication": "login",
            "openssl_verify_mode": "none", "envelope_from": "bounces@acme.example",
        },
    )
    provider, _ = _send_email(brand)
    assert isinstance(provider, SmtpProvider)
    [received] = smtp_server.received
    assert received.tls is True and received.login == SMTP_USER
    assert received.mail_from == "bounces@acme.example"
    assert received.rcpt_tos == ["jane@example.org"]
    assert received.message["Subject"] == "Hallo"


@pytest.mark.django_db
def test_sms_and_rcs_go_through_seven(tenant, fake_seven):
    brand = make_brand(tenant, sms77_api_key=fake_seven.api_key, rcs_api_key=fake_seven.api_key)

    async def run():
        sms = registry.sms_provider_for(brand)
        rcs = registry.rcs_provider_for(brand)
        await sms.send_sms(SmsMessage("sms-1", "Acme", "+491771234567", "Hallo per SMS"))
        await rcs.send_rcs(RcsMessage("rcs-1", None, "+491771234567", {"text": "Hallo RCS"}))
        return sms, rcs

    sms, rcs = async_to_sync(run)()
    assert isinstance(sms, SevenSmsProvider) and isinstance(rcs, SevenRcsProvider)
    assert [m["text"] for m in fake_seven.sms] == ["Hallo per SMS"]
    assert fake_seven.sms[0]["foreign_id"] == "sms-1"
    assert [m["text"] for m in fake_seven.rcs] == ["Hallo RCS"]


@pytest.mark.django_db
def test_without_credentials_development_writes_to_the_outbox(tenant, _outbox):
    brand = make_bare_brand(tenant)

    async def run():
        email = registry.email_provider_for(brand)
        sms = registry.sms_provider_for(brand)
        rcs = registry.rcs_provider_for(brand)
        await email.send_email(_email())
        await sms.send_sms(SmsMessage("sms-2", None, "+491771234567", "Hi"))
        await rcs.send_rcs(RcsMessage("rcs-2", None, "+491771234567", {"text": "Hi"}))
        return email, sms, rcs

    email, sms, rcs = async_to_sync(run)()
    assert isinstance(email, OutboxProvider)
    assert isinstance(sms, OutboxSmsProvider) and isinstance(rcs, OutboxRcsProvider)
    files = sorted(p.name for p in _outbox.iterdir())
    assert len(files) == 3
    assert any(name.endswith(".eml") for name in files)
    documents = [json.loads(p.read_text()) for p in _outbox.glob("*.json")]
    assert {d["channel"] for d in documents} == {"sms", "rcs"}


@pytest.mark.django_db
def test_without_credentials_production_refuses(tenant, settings):
    settings.PRODUCTION = True
    brand = make_bare_brand(tenant)
    for lookup in (registry.email_provider_for, registry.sms_provider_for,
                   registry.rcs_provider_for):
        with pytest.raises(PermanentError, match="no .* provider credentials"):
            lookup(brand)


@pytest.mark.django_db
def test_adapters_are_reused_until_the_configuration_changes(tenant, fake_mailjet):
    brand = make_brand(tenant)

    async def lookups(first_brand, second_brand):
        a = registry.email_provider_for(first_brand)
        b = registry.email_provider_for(first_brand)
        c = registry.email_provider_for(second_brand)
        await c.send_email(_email())
        return a, b, c

    fresh = selectors.get_brand(tenant, brand.id)
    services.update_brand(
        tenant=tenant, brand_id=brand.id, attributes={"mailjet_sandbox_mode": False}
    )
    changed = selectors.get_brand(tenant, brand.id)
    first, again, after_change = async_to_sync(lookups)(fresh, changed)
    assert first is again
    assert after_change is not first
    assert after_change.settings.sandbox is False
    assert fake_mailjet.sent[0]["SandboxMode"] is False


@pytest.mark.django_db
def test_settings_are_mapped_from_the_brand(tenant):
    brand = make_brand(
        tenant,
        mail_provider="smtp",
        smtp_config_attributes={
            "address": "smtp.example.com", "port": 465, "enable_ssl": True,
            "openssl_verify_mode": "none", "user_name": "u", "password": "p",
            "authentication": "cram_md5", "domain": "ehlo.example.com",
        },
    )
    smtp = registry.smtp_settings_for(brand)
    assert smtp is not None
    assert (smtp.host, smtp.port, smtp.ssl, smtp.verify_tls) == ("smtp.example.com", 465, True,
                                                                  False)
    assert (smtp.username, smtp.password, smtp.authentication) == ("u", "p", "cram_md5")
    assert smtp.domain == "ehlo.example.com" and smtp.envelope_from is None
    mailjet = registry.mailjet_settings_for(brand)
    assert mailjet is not None and mailjet.sandbox is True
    assert registry.seven_settings(None) is None
