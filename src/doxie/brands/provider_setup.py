"""Provider set-up use cases (A6–A16): point the providers' callbacks at us, test SMTP.

These talk to the real provider APIs (base URLs from settings, so tests use local peers).
They never run inside a database transaction: a provider call can take seconds and must not
hold row locks; only the single write (the SES configuration set) is its own transaction.

Failures map to the admin envelope through ``DomainError``s, never a 500:

* brand lacks the credentials the operation needs -> 422 with the field to fill in;
* ``PermanentError`` (rejected credentials, refused request) -> 502 with the provider's reason;
* ``RetryableError`` (provider down, throttled, timed out) -> 503 with ``Retry-After``.

Callback URLs are ``{DOXIE_PUBLIC_URL}/hooks/{provider}/{brand.inbound_token}``; the token
is the only credential of those URLs, which is why it never appears in responses.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction
from django.urls import reverse

from doxie.brands import selectors
from doxie.brands.models import Brand
from doxie.core import ssrf
from doxie.core.errors import DomainError, Invalid, Unavailable
from doxie.providers import registry
from doxie.providers.base import PermanentError, ProviderError, RetryableError
from doxie.providers.email import mailjet, ses, smtp
from doxie.providers.sms import seven_hooks

if TYPE_CHECKING:
    from doxie.tenants.models import Tenant

#: Mailjet events we ask for: everything a message status or link webhook can report.
MAILJET_EVENT_TYPES: tuple[str, ...] = mailjet.EVENT_TYPES
SevenChannel = Literal["rcs", "sms"]
#: seven.io hook event type per channel: RCS events and replies / SMS delivery reports.
SEVEN_EVENT_TYPES: dict[str, str] = {"rcs": "rcs", "sms": "dlr"}
_SEVEN_KEY_FIELD: dict[str, str] = {"rcs": "rcs_api_key", "sms": "sms77_api_key"}
DEFAULT_RETRY_AFTER = 30
_SES_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_SES_NAME_MAX = 64


@contextmanager
def provider_errors() -> Iterator[None]:
    """Turn an adapter's two outcomes into the API's answers (see module docstring)."""
    try:
        yield
    except RetryableError as exc:
        wait = exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER
        raise Unavailable(exc.reason, retry_after=max(1, math.ceil(wait))) from exc
    except PermanentError as exc:
        raise DomainError(502, exc.reason, "provider_error") from exc
    except ProviderError as exc:  # pragma: no cover - only the two subclasses exist
        raise DomainError(502, exc.reason, "provider_error") from exc


def callback_url(brand: Brand, provider: Literal["mailjet", "ses", "seven"]) -> str:
    path = reverse(f"inbound_{provider}", kwargs={"token": brand.inbound_token})
    return f"{settings.DOXIE_PUBLIC_URL}{path}"


def _missing(field_name: str, what: str) -> Invalid:
    return Invalid.one(field_name, f"{what} must be configured for this brand first")


# --- Mailjet (A6–A8) --------------------------------------------------------------------------


@dataclass
class MailjetWebhookStatus:
    brand_id: int
    webhooks_present: bool
    registered_event_types: list[str] = field(default_factory=list)
    error_message: str | None = None


def _mailjet_settings(brand: Brand) -> mailjet.MailjetSettings:
    mailjet_settings = registry.mailjet_settings_for(brand)
    if mailjet_settings is None:
        raise _missing("mailjet_api_user", "Mailjet API keys (public and private)")
    return mailjet_settings


def _mailjet_status(brand: Brand, callbacks: list[dict[str, Any]]) -> MailjetWebhookStatus:
    """Which event types call back to this brand's URL; others of the account are noted."""
    ours = callback_url(brand, "mailjet")
    active = {
        str(cb.get("EventType"))
        for cb in callbacks
        if cb.get("Url") == ours and not cb.get("IsBackup") and cb.get("Status") != "dead"
    }
    elsewhere = sorted(
        {
            str(cb.get("EventType"))
            for cb in callbacks
            if cb.get("Url") != ours
            and not cb.get("IsBackup")
            and cb.get("EventType") in MAILJET_EVENT_TYPES
        }
    )
    registered = [t for t in MAILJET_EVENT_TYPES if t in active]
    return MailjetWebhookStatus(
        brand_id=brand.id,
        webhooks_present=bool(registered),
        registered_event_types=registered,
        error_message=(
            "Event types calling back to another URL: " + ", ".join(elsewhere)
            if elsewhere
            else None
        ),
    )


def mailjet_webhook_status(*, tenant: Tenant, brand_id: int) -> MailjetWebhookStatus:
    brand = selectors.get_brand(tenant, brand_id)
    mailjet_settings = _mailjet_settings(brand)
    with provider_errors():
        callbacks = async_to_sync(mailjet.list_event_callbacks)(mailjet_settings)
    return _mailjet_status(brand, callbacks)


def register_mailjet_webhooks(*, tenant: Tenant, brand_id: int) -> MailjetWebhookStatus:
    """Make every event type call back to this brand; idempotent (Mailjet keeps one primary
    callback per event type and account, so a type pointing elsewhere is redirected)."""
    brand = selectors.get_brand(tenant, brand_id)
    mailjet_settings = _mailjet_settings(brand)

    async def register() -> list[dict[str, Any]]:
        await mailjet.register_event_callbacks(
            mailjet_settings, callback_url(brand, "mailjet"), list(MAILJET_EVENT_TYPES)
        )
        return await mailjet.list_event_callbacks(mailjet_settings)

    with provider_errors():
        callbacks = async_to_sync(register)()
    return _mailjet_status(brand, callbacks)


def delete_mailjet_webhooks(*, tenant: Tenant, brand_id: int) -> MailjetWebhookStatus:
    """Remove the callbacks pointing at this brand's URL; the account's others stay."""
    brand = selectors.get_brand(tenant, brand_id)
    mailjet_settings = _mailjet_settings(brand)

    async def delete() -> list[dict[str, Any]]:
        await mailjet.delete_event_callbacks(mailjet_settings, callback_url(brand, "mailjet"))
        return await mailjet.list_event_callbacks(mailjet_settings)

    with provider_errors():
        callbacks = async_to_sync(delete)()
    return _mailjet_status(brand, callbacks)


# --- seven.io hooks (A9–A14) ------------------------------------------------------------------


@dataclass
class SevenWebhookStatus:
    brand_id: int
    webhooks_present: bool


def _seven(brand: Brand, channel: SevenChannel) -> tuple[Any, str, str]:
    key_field = _SEVEN_KEY_FIELD[channel]
    seven_settings = registry.seven_settings(getattr(brand, key_field))
    if seven_settings is None:
        raise _missing(key_field, f"The seven.io API key ({key_field})")
    return seven_settings, callback_url(brand, "seven"), SEVEN_EVENT_TYPES[channel]


def seven_webhook_status(
    *, tenant: Tenant, brand_id: int, channel: SevenChannel
) -> SevenWebhookStatus:
    brand = selectors.get_brand(tenant, brand_id)
    seven_settings, target, event_type = _seven(brand, channel)
    with provider_errors():
        hook = async_to_sync(seven_hooks.find_hook)(seven_settings, target, event_type)
    return SevenWebhookStatus(brand_id=brand.id, webhooks_present=hook is not None)


def register_seven_webhook(
    *, tenant: Tenant, brand_id: int, channel: SevenChannel
) -> SevenWebhookStatus:
    """Subscribe the brand's hook URL for the channel's event type (JSON POSTs); idempotent."""
    brand = selectors.get_brand(tenant, brand_id)
    seven_settings, target, event_type = _seven(brand, channel)
    with provider_errors():
        async_to_sync(seven_hooks.subscribe_hook)(
            seven_settings, target, event_type, request_method="JSON"
        )
    return SevenWebhookStatus(brand_id=brand.id, webhooks_present=True)


def delete_seven_webhook(
    *, tenant: Tenant, brand_id: int, channel: SevenChannel
) -> SevenWebhookStatus:
    """Unsubscribe every hook of this event type aimed at this brand; none is not an error."""
    brand = selectors.get_brand(tenant, brand_id)
    seven_settings, target, event_type = _seven(brand, channel)

    async def delete() -> None:
        for hook in await seven_hooks.list_hooks(seven_settings):
            ours = hook.get("target_url") == target and hook.get("event_type") == event_type
            if ours and hook.get("id") is not None:
                await seven_hooks.unsubscribe_hook(seven_settings, hook["id"])

    with provider_errors():
        async_to_sync(delete)()
    return SevenWebhookStatus(brand_id=brand.id, webhooks_present=False)


# --- SES (A15) --------------------------------------------------------------------------------


@dataclass
class SesSetupResult:
    brand_id: int
    setup_success: bool
    configuration_set: str


def ses_resource_name(brand: Brand) -> str:
    """``doxie-{tenant}-{brand}``, within SES's 64 characters of ``[A-Za-z0-9_-]``.

    Long slug pairs are shortened with a hash suffix so two brands can never share a name.
    """
    name = _SES_NAME_UNSAFE.sub("-", f"doxie-{brand.tenant.slug}-{brand.slug}")
    if len(name) <= _SES_NAME_MAX:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[: _SES_NAME_MAX - 11]}-{digest}"


def setup_ses_for_brand(*, tenant: Tenant, brand_id: int) -> SesSetupResult:
    """Create/update configuration set, SNS topic + policy, HTTPS subscription and event
    destination (idempotent), then remember the configuration set on the brand so sends
    name it and SES reports their events."""
    brand = selectors.get_brand(tenant, brand_id)
    brand.tenant = tenant
    ses_settings = registry.ses_settings_for(brand)
    if ses_settings is None:
        raise _missing("ses_api_user", "SES credentials (access key id, secret, region)")
    endpoint = callback_url(brand, "ses")
    if not endpoint.startswith("https://"):
        raise Invalid.one(
            "DOXIE_PUBLIC_URL", "must be an https:// URL: SNS delivers events only over HTTPS"
        )
    name = ses_resource_name(brand)
    with provider_errors():
        result = ses.setup_ses(
            ses_settings, configuration_set=name, topic_name=name, https_endpoint=endpoint
        )
    _store_configuration_set(tenant=tenant, brand_id=brand.id, name=result["configuration_set"])
    return SesSetupResult(brand_id=brand.id, setup_success=True, configuration_set=name)


@transaction.atomic
def _store_configuration_set(*, tenant: Tenant, brand_id: int, name: str) -> None:
    """Saved through ``save()`` so ``updated_at`` moves and cached SES adapters are rebuilt."""
    brand = Brand.objects.for_tenant(tenant).select_for_update().filter(id=brand_id).first()
    if brand is None:  # deleted while AWS was being set up
        return
    brand.ses_configuration_set = name
    brand.save(update_fields=["ses_configuration_set", "updated_at"])


# --- SMTP (A16) -------------------------------------------------------------------------------


@dataclass
class SmtpTestResult:
    brand_id: int
    connection_success: bool
    error: str | None
    settings: dict[str, Any]


def _shown_settings(brand: Brand, smtp_settings: smtp.SmtpSettings) -> dict[str, Any]:
    config = brand.smtp_config
    return {
        "address": smtp_settings.host,
        "port": smtp_settings.port,
        "enable_ssl": smtp_settings.ssl,
        "authentication": config.authentication,
        "enable_starttls_auto": config.enable_starttls_auto,
        "open_timeout": registry.SMTP_OPEN_TIMEOUT,
        "read_timeout": registry.SMTP_READ_TIMEOUT,
        "user_name": smtp_settings.username,
        "password": "[REDACTED]" if smtp_settings.password else None,
        "domain": smtp_settings.domain,
        "openssl_verify_mode": "peer" if smtp_settings.verify_tls else "none",
        "envelope_from": smtp_settings.envelope_from,
        "ssl": smtp_settings.ssl,
    }


async def _probe(smtp_settings: smtp.SmtpSettings) -> tuple[bool, str | None]:
    """Refuse hosts customers may not reach (the SSRF policy raises, answered with a 422),
    then connect like a send, which applies the same policy again on its own pinned lookup."""
    try:
        await ssrf.resolve_allowed(smtp_settings.host)
    except OSError as exc:
        return False, f"could not resolve {smtp_settings.host}: {exc}"
    return await smtp.test_connection(smtp_settings)


def run_smtp_test(*, tenant: Tenant, brand_id: int) -> SmtpTestResult:
    """Connect, STARTTLS/TLS and AUTH with exactly the settings a send would use."""
    brand = selectors.get_brand(tenant, brand_id)
    smtp_settings = registry.smtp_settings_for(brand)
    if smtp_settings is None:
        raise _missing("smtp_config.address", "An SMTP server address")
    try:
        ok, error = async_to_sync(_probe)(smtp_settings)
    except ssrf.UnsafeAddressError as exc:
        raise Invalid.one("smtp_config.address", f"may not be contacted: {exc}") from exc
    return SmtpTestResult(
        brand_id=brand.id,
        connection_success=ok,
        error=error,
        settings=_shown_settings(brand, smtp_settings),
    )
