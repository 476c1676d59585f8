"""Brand configuration -> provider adapter, with adapters reused across sends.

Why a cache: an adapter owns a connection pool (SMTP sessions that already did STARTTLS and
AUTH, keep-alive HTTPS connections to Mailjet or seven.io). Building one per message would
pay those handshakes every time, which is most of the cost of a send. So adapters are kept
per brand and configuration version: the key holds the brand's and the provider record's
``updated_at``, and any change made through the API or the admin saves the brand, so the
next lookup builds a fresh adapter with the new credentials while the old one is closed.

Pools belong to an event loop (sockets are registered with it), so the cache is kept per
running loop; a worker has one long-lived loop and therefore one adapter per brand. Calls
from synchronous code (no running loop) share a separate bucket.

With no credentials for a channel, development (``PRODUCTION`` off) falls back to the outbox
adapters (files under ``DOXIE_OUTBOX_DIR``), so nothing ever reaches a real recipient by
accident; production refuses with ``PermanentError`` instead of silently not sending.

The lookup functions read the brand's one-to-one provider records; in async code, pass a
brand loaded with ``select_related`` (``doxie.brands.selectors.get_brand`` does that) so no
query runs inside the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings

from doxie.providers.base import EmailProvider, PermanentError, RcsProvider, SmsProvider
from doxie.providers.email.mailjet import MailjetProvider, MailjetSettings
from doxie.providers.email.outbox import OutboxProvider
from doxie.providers.email.ses import SesProvider, SesSettings
from doxie.providers.email.smtp import SmtpProvider, SmtpSettings
from doxie.providers.rcs.seven import SevenRcsProvider
from doxie.providers.sms.outbox import OutboxRcsProvider, OutboxSmsProvider
from doxie.providers.sms.seven import SevenSettings, SevenSmsProvider

if TYPE_CHECKING:
    from doxie.brands.models import Brand, MailjetApiUser, SesApiUser, SmtpConfig

__all__ = [
    "SMTP_OPEN_TIMEOUT",
    "SMTP_READ_TIMEOUT",
    "aclose_all",
    "email_provider_for",
    "mailjet_settings_for",
    "rcs_provider_for",
    "ses_settings_for",
    "seven_settings",
    "smtp_settings_for",
    "sms_provider_for",
]

#: Seconds; the project-wide outbound limits (connect 5 s, 15 s per exchange).
SMTP_OPEN_TIMEOUT = 5
SMTP_READ_TIMEOUT = 15

Adapter = Any  # EmailProvider | SmsProvider | RcsProvider (all have ``aclose``)
Key = tuple[Any, ...]

_lock = threading.Lock()
_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Key, Adapter]] = (
    weakref.WeakKeyDictionary()
)
_sync_bucket: dict[Key, Adapter] = {}
# Adapters replaced by a newer configuration while no loop was running: closed later.
_retired: list[Adapter] = []
_closing: set[asyncio.Task[None]] = set()


# --- settings builders (also used by the brand set-up operations) ---------------------------


def _part(brand: Brand, accessor: str) -> Any:
    """A one-to-one provider record or None (missing rows raise AttributeError subclasses)."""
    return getattr(brand, accessor, None)


def mailjet_settings_for(brand: Brand) -> MailjetSettings | None:
    part: MailjetApiUser | None = _part(brand, "mailjet_api_user")
    if part is None or not part.public_api_key or not part.private_api_key:
        return None
    return MailjetSettings(
        public_api_key=part.public_api_key,
        private_api_key=part.private_api_key,
        sandbox=brand.mailjet_sandbox_mode,
        base_url=settings.DOXIE_MAILJET_API_URL,
    )


def ses_settings_for(brand: Brand) -> SesSettings | None:
    part: SesApiUser | None = _part(brand, "ses_api_user")
    if part is None or not (part.access_key_id and part.secret_access_key and part.region):
        return None
    return SesSettings(
        access_key_id=part.access_key_id,
        secret_access_key=part.secret_access_key,
        region=part.region,
        configuration_set=brand.ses_configuration_set,
        endpoint_url=settings.AWS_ENDPOINT_URL,
    )


def smtp_settings_for(brand: Brand) -> SmtpSettings | None:
    part: SmtpConfig | None = _part(brand, "smtp_config")
    if part is None or not part.address:
        return None
    return SmtpSettings(
        host=part.address,
        port=part.port,
        username=part.user_name or None,
        password=part.password or None,
        authentication=part.authentication or None,  # type: ignore[arg-type]
        starttls=part.enable_starttls_auto,
        ssl=part.enable_ssl,
        verify_tls=part.openssl_verify_mode != "none",
        domain=part.domain or None,
        envelope_from=part.envelope_from or None,
        connect_timeout=float(SMTP_OPEN_TIMEOUT),
        timeout=float(SMTP_READ_TIMEOUT),
    )


def seven_settings(api_key: str | None) -> SevenSettings | None:
    if not api_key:
        return None
    return SevenSettings(api_key=api_key, base_url=settings.DOXIE_SEVEN_API_URL)


# --- cache ----------------------------------------------------------------------------------


def _stamp(obj: Any) -> datetime | None:
    return getattr(obj, "updated_at", None) if obj is not None else None


def _bucket() -> dict[Key, Adapter]:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _sync_bucket
    bucket = _by_loop.get(loop)
    if bucket is None:
        bucket = _by_loop[loop] = {}
    return bucket


def _retire(adapter: Adapter) -> None:
    """Close a replaced adapter: now if a loop runs (its pool lives there), else later."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        _retired.append(adapter)
        return
    task = loop.create_task(adapter.aclose())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


def _cached(channel: str, brand: Brand, version: Key, build: Callable[[], Adapter]) -> Adapter:
    """The adapter for (channel, brand) at ``version``; a stale version is replaced."""
    slot = (channel, brand.pk)
    with _lock:
        bucket = _bucket()
        entry = bucket.get(slot)
        if entry is not None and entry[0] == version:
            return entry[1]
        adapter = build()
        bucket[slot] = (version, adapter)
    if entry is not None:
        _retire(entry[1])
    return adapter


def _no_credentials(channel: str, brand: Brand) -> None:
    if settings.PRODUCTION:
        raise PermanentError(
            f"brand '{brand.slug}' has no {channel} provider credentials configured"
        )


# --- lookups ----------------------------------------------------------------------------------


def _email_adapter(brand: Brand) -> tuple[Key, Callable[[], Adapter]] | None:
    """(configuration version, factory) for the brand's mail provider, or None."""
    provider = brand.mail_provider
    if provider == "mailjet" and (mailjet := mailjet_settings_for(brand)) is not None:
        version = (provider, _stamp(brand), _stamp(_part(brand, "mailjet_api_user")))
        return version, lambda: MailjetProvider(mailjet)
    if provider == "ses" and (ses := ses_settings_for(brand)) is not None:
        version = (provider, _stamp(brand), _stamp(_part(brand, "ses_api_user")))
        return version, lambda: SesProvider(ses)
    if provider == "smtp" and (smtp := smtp_settings_for(brand)) is not None:
        version = (provider, _stamp(brand), _stamp(_part(brand, "smtp_config")))
        return version, lambda: SmtpProvider(smtp)
    return None


def email_provider_for(brand: Brand) -> EmailProvider:
    """The adapter for the brand's ``mail_provider``; outbox in development when unset."""
    configured = _email_adapter(brand)
    if configured is not None:
        version, build = configured
        return _cached("email", brand, version, build)
    _no_credentials("email", brand)
    return _cached("email", brand, ("outbox",), lambda: OutboxProvider(_outbox_dir()))


def sms_provider_for(brand: Brand) -> SmsProvider:
    """seven.io with the brand's ``sms77_api_key``; outbox in development when unset."""
    seven = seven_settings(brand.sms77_api_key)
    if seven is not None:
        version = ("seven", _stamp(brand))
        return _cached("sms", brand, version, lambda: SevenSmsProvider(seven))
    _no_credentials("sms", brand)
    return _cached("sms", brand, ("outbox",), lambda: OutboxSmsProvider(_outbox_dir()))


def rcs_provider_for(brand: Brand) -> RcsProvider:
    """seven.io with the brand's ``rcs_api_key``; outbox in development when unset."""
    seven = seven_settings(brand.rcs_api_key)
    if seven is not None:
        version = ("seven", _stamp(brand))
        return _cached("rcs", brand, version, lambda: SevenRcsProvider(seven))
    _no_credentials("rcs", brand)
    return _cached("rcs", brand, ("outbox",), lambda: OutboxRcsProvider(_outbox_dir()))


def _outbox_dir() -> Any:
    return settings.DOXIE_OUTBOX_DIR


async def aclose_all() -> None:
    """Close every adapter this loop (and synchronous callers) created; for worker shutdown
    and tests. Later lookups simply build new adapters."""
    with _lock:
        adapters = [adapter for _, adapter in _bucket().values()]
        adapters += [adapter for _, adapter in _sync_bucket.values()]
        adapters += _retired
        _bucket().clear()
        _sync_bucket.clear()
        _retired.clear()
        pending = list(_closing)
    for adapter in adapters:
        with contextlib.suppress(Exception):
            await adapter.aclose()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
