"""A real SMTP peer for tests: aiosmtpd in its own thread on a free 127.0.0.1 port.

Supports plain, STARTTLS (self-signed certificate made at test time) and implicit TLS,
AUTH PLAIN/LOGIN checked against a user table, and scripted failures (per-recipient
replies, a DATA reply, dropping sessions). It records what it received and which
connections carried mail, so pool behaviour can be asserted from the server's side.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage as ParsedMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

Mode = Literal["plain", "starttls", "tls"]


def free_port() -> int:
    """A port nothing listens on right now (also handy for "connection refused")."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class CertPair:
    cert: Path
    key: Path


def make_self_signed_cert(directory: Path, common_name: str = "localhost") -> CertPair:
    """An EC certificate for localhost/127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(common_name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    pair = CertPair(directory / "smtp-cert.pem", directory / "smtp-key.pem")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pair.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pair


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    connection: int  # identifies the SMTP session (one per TCP connection)
    login: str | None
    tls: bool

    @property
    def message(self) -> ParsedMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class _Handler:
    server: FakeSmtpServer

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:
        fake = self.server
        fake.mail_commands += 1
        if fake.drop_next_mail:
            fake.drop_next_mail = False
            server.transport.close()  # vanish without a reply, like a half-open socket
            return "421 4.4.2 gone"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        reply = self.server.rcpt_replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        fake = self.server
        if fake.data_reply:
            return fake.data_reply
        login = session.auth_data.login.decode() if session.auth_data else None
        fake.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                data=envelope.original_content or envelope.content,
                connection=id(server),
                login=login,
                tls=session.ssl is not None or fake.mode == "tls",
            )
        )
        return "250 2.0.0 queued"


class _Controller(Controller):
    def __init__(self, fake: FakeSmtpServer, **kwargs: Any) -> None:
        super().__init__(_Handler(fake), **kwargs)
        self.fake = fake

    def factory(self) -> SMTP:
        smtp = super().factory()
        self.fake._sessions.append(smtp)
        return smtp


@dataclass
class FakeSmtpServer:
    """Configure, then ``start()``; attributes may be changed between sends."""

    mode: Mode = "plain"
    users: dict[str, str] | None = None  # enables AUTH (PLAIN, LOGIN) when given
    cert: CertPair | None = None  # required for starttls/tls
    auth_required: bool = False
    rcpt_replies: dict[str, str] = field(default_factory=dict)  # lower-case address -> reply
    data_reply: str | None = None  # e.g. "451 4.3.0 try again later"
    drop_next_mail: bool = False
    received: list[Received] = field(default_factory=list)
    auth_failures: int = 0
    mail_commands: int = 0
    host: str = "127.0.0.1"
    port: int = 0
    _sessions: list[SMTP] = field(default_factory=list)
    _controller: _Controller | None = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and self.users is not None:
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(login) == password:
                return AuthResult(success=True, auth_data=auth_data)
        self.auth_failures += 1
        return AuthResult(success=False, handled=False)

    def start(self) -> FakeSmtpServer:
        context = None
        if self.mode != "plain":
            if self.cert is None:
                raise ValueError(f"mode {self.mode!r} needs a certificate")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.cert.cert, self.cert.key)
        kwargs: dict[str, Any] = {
            "hostname": self.host,
            "port": self.port or free_port(),
            "server_hostname": "fake-smtp.test",
            "auth_required": self.auth_required,
            # Implicit TLS is invisible to aiosmtpd's STARTTLS bookkeeping: allow AUTH there.
            "auth_require_tls": self.mode == "starttls",
            "enable_SMTPUTF8": False,
        }
        if self.users is not None:
            kwargs["authenticator"] = self._authenticate
        if self.mode == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        elif self.mode == "tls":
            kwargs["ssl_context"] = context
        self._controller = _Controller(self, **kwargs)
        self._controller.start()
        self.port = self._controller.port
        self._sessions.clear()  # forget the controller's own start-up probe
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def mail_connections(self) -> set[int]:
        """Distinct sessions that delivered at least one message."""
        return {item.connection for item in self.received}

    def drop_connections(self) -> None:
        """Close every open session from the server side (as an idle timeout would)."""
        assert self._controller is not None
        done = threading.Event()

        def close_all() -> None:
            for smtp in self._sessions:
                if smtp.transport is not None:
                    smtp.transport.close()
            done.set()

        self._controller.loop.call_soon_threadsafe(close_all)
        done.wait(5)


@contextmanager
def running_smtp_server(**options: Any) -> Iterator[FakeSmtpServer]:
    server = FakeSmtpServer(**options).start()
    try:
        yield server
    finally:
        server.stop()


class SilentServer:
    """Listens but never accepts or answers: TCP connects succeed, then nothing happens,
    which is how a firewalled or hung peer looks to a client with timeouts."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.host, self.port = self._sock.getsockname()[:2]

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
