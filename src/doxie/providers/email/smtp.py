"""SMTP delivery over a small pool of persistent, authenticated connections.

Opening an SMTP session costs several round trips (greeting, EHLO, STARTTLS, EHLO, AUTH), so
a worker keeps up to ``pool_size`` sessions open and runs one mail transaction at a time on
each. A pooled session may have been closed by the server while idle; when that shows up
before any message data was sent we reconnect once, transparently, because nothing can have
been delivered yet. Once DATA has started we never resend: the caller gets a RetryableError
and the unchanged Message-ID lets duplicates be recognised downstream.

The SMTP host is tenant-configured, so every connect goes through the SSRF policy of
:mod:`doxie.core.ssrf`: the name is resolved once, every address checked (unless the
deployment allows private hosts), and the socket opened to a checked address; a refused
host is a ``PermanentError`` naming the reason, and no packet is sent to it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from dataclasses import dataclass
from typing import Literal, NamedTuple

import aiosmtplib

from doxie.core import ssrf
from doxie.core.ssrf import Resolver
from doxie.providers.base import (
    EmailMessage,
    PermanentError,
    ProviderError,
    RetryableError,
    SendResult,
)
from doxie.providers.email.mime import mailbox_address, render

__all__ = ["SmtpProvider", "SmtpSettings", "test_connection"]

log = logging.getLogger(__name__)

# A session idle for longer than this is probed with NOOP before use: servers commonly drop
# idle sessions after 30-300 s, and a NOOP is cheaper than a failed transaction.
IDLE_CHECK_AFTER = 20.0


@dataclass
class SmtpSettings:
    """Mirrors the usual ``smtp_settings`` of a mail library (Rails/ActionMailer naming)."""

    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    authentication: Literal["plain", "login", "cram_md5"] | None = None
    starttls: bool = True  # enable_starttls_auto: upgrade when the server offers STARTTLS
    ssl: bool = False  # implicit TLS from the first byte (port 465)
    verify_tls: bool = True  # openssl_verify_mode != "none"
    domain: str | None = None  # EHLO name
    envelope_from: str | None = None  # MAIL FROM; defaults to the message's sender
    connect_timeout: float = 5.0
    timeout: float = 15.0


def _cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """Find ``kind`` in the exception chain: aiosmtplib wraps OSError/SSLError causes."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _by_code(code: int, reason: str) -> ProviderError:
    """4xx is a transient condition per RFC 5321; everything else will fail again."""
    if 400 <= code < 500:
        return RetryableError(reason, status=code)
    return PermanentError(reason, status=code)


def _describe(exc: BaseException, settings: SmtpSettings) -> ProviderError:
    """Translate a transport/protocol failure into our two outcomes with a human reason."""
    if isinstance(exc, ProviderError):
        return exc
    tls = _cause(exc, ssl.SSLError)
    if tls is not None:
        detail = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or tls
        reason = f"TLS handshake failed: {detail}"
        if isinstance(tls, ssl.SSLCertVerificationError):
            return PermanentError(reason)  # wrong certificate: retrying cannot help
        return RetryableError(reason)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return _by_code(exc.code, f"authentication failed: {exc.code} {exc.message}")
    if isinstance(exc, aiosmtplib.SMTPConnectTimeoutError):
        return RetryableError(f"timed out after {settings.connect_timeout:g}s")
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return RetryableError(f"timed out after {settings.timeout:g}s")
    if _cause(exc, ConnectionRefusedError) is not None:
        return RetryableError("connection refused")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _by_code(exc.code, f"server replied {exc.code} {exc.message}")
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return RetryableError(f"connection lost: {exc}")
    if isinstance(exc, aiosmtplib.SMTPConnectError | OSError):
        return RetryableError(f"connection failed: {exc}")
    if isinstance(exc, aiosmtplib.SMTPException):  # e.g. no STARTTLS/AUTH offered: config
        return PermanentError(str(exc))
    return PermanentError(f"unexpected SMTP error: {exc!r}")


async def _connect_pinned(settings: SmtpSettings, resolver: Resolver | None) -> socket.socket:
    """Resolve the host once, apply the SSRF policy, connect a socket to a checked address.

    aiosmtplib then runs over this socket and never resolves the name itself, so a DNS
    answer that changes after the check (rebinding) cannot redirect the session.
    """
    error: OSError | None = None
    try:
        async with asyncio.timeout(settings.connect_timeout):
            try:
                addresses = await ssrf.resolve_allowed(settings.host, resolver=resolver)
            except OSError as exc:  # socket.gaierror: DNS trouble, worth another try
                raise RetryableError(f"could not resolve {settings.host}: {exc}") from exc
            loop = asyncio.get_running_loop()
            for address in addresses:
                family = socket.AF_INET6 if ":" in address else socket.AF_INET
                sock = socket.socket(family, socket.SOCK_STREAM)
                sock.setblocking(False)
                try:
                    await loop.sock_connect(sock, (address, settings.port))
                except OSError as exc:
                    sock.close()
                    error = exc
                    continue
                except BaseException:
                    sock.close()
                    raise
                return sock
    except ssrf.UnsafeAddressError as exc:
        # Configuration, not a network hiccup: retrying cannot make the host allowed.
        raise PermanentError(f"SMTP host {settings.host} may not be contacted: {exc}") from exc
    except TimeoutError as exc:
        raise aiosmtplib.SMTPConnectTimeoutError(
            f"Timed out connecting to {settings.host} on port {settings.port}"
        ) from exc
    assert error is not None
    raise aiosmtplib.SMTPConnectError(
        f"Error connecting to {settings.host} on port {settings.port}: {error}"
    ) from error


async def _open(settings: SmtpSettings, resolver: Resolver | None = None) -> aiosmtplib.SMTP:
    """Connect, upgrade and authenticate one session, raising ProviderError on failure.

    The session runs over a socket pinned to a checked address (:func:`_connect_pinned`);
    ``hostname`` stays the configured name, so TLS SNI and certificate verification (implicit
    TLS and STARTTLS) use it, not the IP.
    """
    try:
        sock = await _connect_pinned(settings, resolver)
    except Exception as exc:
        raise _describe(exc, settings) from exc
    client = aiosmtplib.SMTP(
        hostname=ssrf.bare_host(settings.host),
        sock=sock,
        # A fixed EHLO name avoids socket.getfqdn(), whose reverse lookup can hang.
        local_hostname=settings.domain or "localhost.localdomain",
        timeout=settings.timeout,
        use_tls=settings.ssl,
        start_tls=None if settings.starttls and not settings.ssl else False,
        validate_certs=settings.verify_tls,
    )
    try:
        await client.connect(timeout=settings.connect_timeout)
    except Exception as exc:
        client.close()
        sock.close()  # a no-op when the transport already closed it
        raise _describe(exc, settings) from exc
    if not settings.username:
        return client
    try:
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()
        if settings.authentication is None:
            await client.login(settings.username, settings.password or "")
        else:
            method = getattr(client, f"auth_{settings.authentication.replace('_', '')}")
            await method(settings.username, settings.password or "")
    except Exception as exc:
        client.close()
        error = _describe(exc, settings)
        if not error.reason.startswith("authentication failed"):
            # e.g. AUTH not offered (needs TLS?) or mechanism rejected with 504
            error = type(error)(f"authentication failed: {error.reason}", status=error.status)
        raise error from exc
    return client


async def _greet(client: aiosmtplib.SMTP) -> None:
    """EHLO, falling back to HELO for pre-ESMTP servers (what ``client.mail()`` would do)."""
    try:
        await client.ehlo()
    except aiosmtplib.SMTPHeloError:
        if not client.is_connected:
            raise
        await client.helo()


async def test_connection(
    settings: SmtpSettings, resolver: Resolver | None = None
) -> tuple[bool, str | None]:
    """Check settings the way a send would use them; never raises (used by the UI/API)."""
    try:
        client = await _open(settings, resolver)
    except ProviderError as exc:
        return False, exc.reason
    except Exception as exc:  # defensive: a settings form must never crash the request
        return False, f"unexpected error: {exc}"
    try:
        await client.quit(timeout=settings.connect_timeout)
    except Exception:  # noqa: S110 - the check already succeeded; QUIT is a courtesy
        pass
    finally:
        client.close()
    return True, None


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


class _StaleSession(Exception):
    """The pooled session was dead before any message data went out: safe to redo."""


class _Idle(NamedTuple):
    client: aiosmtplib.SMTP
    since: float  # loop.time() of check-in


class SmtpProvider:
    """``EmailProvider`` for one SMTP account; share one instance per account and worker."""

    def __init__(
        self, settings: SmtpSettings, pool_size: int = 4, *, resolver: Resolver | None = None
    ) -> None:
        """``resolver`` (async host -> addresses) replaces DNS, e.g. in tests."""
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self.settings = settings
        self._resolver = resolver
        self.pool_size = pool_size
        self.connections_opened = 0  # observability: how often the pool had to connect
        self._idle: list[_Idle] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(pool_size)

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        """Sessions and the semaphore belong to one event loop; a caller running us in a
        fresh loop (e.g. async_to_sync per call) must not touch the old loop's sockets."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._idle = []
            self._slots = asyncio.Semaphore(self.pool_size)
        return loop

    async def _checkout(self, loop: asyncio.AbstractEventLoop) -> tuple[aiosmtplib.SMTP, bool]:
        while self._idle:
            client, since = self._idle.pop()
            if not client.is_connected:
                continue
            # NOOP only after a long idle: probing every reuse would add a round trip to
            # each message, and a session that died meanwhile is caught at MAIL anyway.
            if loop.time() - since > IDLE_CHECK_AFTER:
                try:
                    await client.noop(timeout=self.settings.connect_timeout)
                except Exception:
                    client.close()
                    continue
            return client, True
        client = await _open(self.settings, self._resolver)
        self.connections_opened += 1
        return client, False

    def _checkin(self, client: aiosmtplib.SMTP, loop: asyncio.AbstractEventLoop) -> None:
        if client.is_connected and self._loop is loop:
            self._idle.append(_Idle(client, loop.time()))
        else:
            client.close()

    async def send_email(self, message: EmailMessage) -> SendResult:
        payload, message_id = render(message)  # validates sender and recipients as well
        envelope_from = self.settings.envelope_from or message.sender
        sender = mailbox_address(envelope_from, what="sender").encode("ascii")
        recipients = [mailbox_address(rcpt, what="recipient") for rcpt in message.to]

        loop = self._bind_loop()
        async with self._slots:
            for attempt in (1, 2):
                client, reused = await self._checkout(loop)
                try:
                    refused, reply = await self._transaction(client, sender, recipients, payload)
                except _StaleSession as exc:
                    client.close()
                    if reused and attempt == 1:
                        log.info(
                            "pooled SMTP session to %s was closed; reconnecting", self.settings.host
                        )
                        continue
                    raise _describe(exc.__cause__ or exc, self.settings) from exc
                except ProviderError:
                    self._checkin(client, loop)  # the envelope was reset; the session is fine
                    raise
                except BaseException:
                    client.close()  # e.g. cancelled mid-command: state unknown
                    raise
                self._checkin(client, loop)
                break
        # Report in the caller's spelling of each address, not our normalised envelope form.
        original = dict(zip(recipients, message.to, strict=True))
        refused = {original[rcpt]: why for rcpt, why in refused.items()}
        return SendResult(
            provider_message_id=message_id,
            recipient_message_ids={rcpt: message_id for rcpt in message.to if rcpt not in refused},
            raw={"reply": reply, "refused": refused},
        )

    async def _transaction(
        self, client: aiosmtplib.SMTP, sender: bytes, recipients: list[str], payload: bytes
    ) -> tuple[dict[str, str], str]:
        """MAIL/RCPT/DATA by hand so we know how far we got when the session dies.

        MAIL and RCPT go through ``execute_command`` with addresses we already validated
        (:func:`mailbox_address`): ``client.mail()``/``rcpt()`` would re-parse each one with
        ``email.utils.parseaddr``, a measurable share of the per-message CPU.
        """
        data_started = False
        try:
            if client.is_ehlo_or_helo_needed:
                await _greet(client)
            response = await client.execute_command(b"MAIL", b"FROM:<" + sender + b">")
            if response.code != 250:
                refusal = aiosmtplib.SMTPSenderRefused(
                    response.code, response.message, sender.decode("ascii")
                )
                if response.code == 421:  # the server's idle-timeout goodbye, read late
                    raise _StaleSession() from refusal
                raise refusal
            refused: dict[str, str] = {}
            codes: list[int] = []
            for rcpt in recipients:
                response = await client.execute_command(b"RCPT", b"TO:<" + rcpt.encode() + b">")
                if response.code not in (250, 251):
                    refused[rcpt] = f"{response.code} {response.message}"
                    codes.append(response.code)
            if len(refused) == len(recipients):
                await self._reset(client)
                detail = "; ".join(f"{rcpt}: {why}" for rcpt, why in refused.items())
                # Greylisting (4xx) clears up by itself; a 5xx refusal does not.
                temporary = any(400 <= code < 500 for code in codes)
                error = RetryableError if temporary else PermanentError
                raise error(f"recipient refused: {detail}", status=min(codes))
            data_started = True
            response = await client.data(payload)
        except ConnectionError as exc:  # includes SMTPServerDisconnected
            client.close()
            if data_started:
                raise _describe(exc, self.settings) from exc
            raise _StaleSession() from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset(client)
            stage = "message" if data_started else "sender"
            raise _by_code(exc.code, f"{stage} refused: {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPException) as exc:
            client.close()
            raise _describe(exc, self.settings) from exc
        return refused, response.message

    async def _reset(self, client: aiosmtplib.SMTP) -> None:
        """RSET so the session can be reused; a session that cannot RSET is discarded."""
        if not client.is_connected:
            return
        try:
            await client.rset(timeout=self.settings.connect_timeout)
        except Exception:
            client.close()

    async def aclose(self) -> None:
        """QUIT idle sessions. The provider stays usable: later sends simply reconnect."""
        idle, self._idle = self._idle, []
        same_loop = self._loop is asyncio.get_running_loop()
        for entry in idle:
            try:
                if same_loop and entry.client.is_connected:
                    await entry.client.quit(timeout=self.settings.connect_timeout)
            except Exception:  # noqa: S110 - closing anyway
                pass
            finally:
                entry.client.close()
