"""Real peers for the email provider tests: aiosmtpd servers and a moto server.

None of these fixtures touches the database.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# ``tests/`` holds no ``__init__.py``; make ``fakes`` importable however pytest was started.
_TESTS_DIR = str(Path(__file__).resolve().parents[1])
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fakes.moto_server import ACCESS_KEY, REGION, SECRET_KEY, MotoServer  # noqa: E402
from fakes.smtp_server import CertPair, FakeSmtpServer, make_self_signed_cert  # noqa: E402

from doxie.providers.email.ses import SesSettings  # noqa: E402
from doxie.providers.email.smtp import SmtpSettings  # noqa: E402

SMTP_USER = "mailer"
SMTP_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> CertPair:
    return make_self_signed_cert(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtpServer]:
    """Plain SMTP, no AUTH (like a local relay or Mailpit)."""
    server = FakeSmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_starttls_server(tls_cert: CertPair) -> Iterator[FakeSmtpServer]:
    """Submission-style: STARTTLS required, AUTH required (offered only after STARTTLS)."""
    server = FakeSmtpServer(
        mode="starttls", cert=tls_cert, users={SMTP_USER: SMTP_PASSWORD}, auth_required=True
    ).start()
    yield server
    server.stop()


@pytest.fixture
def smtp_tls_server(tls_cert: CertPair) -> Iterator[FakeSmtpServer]:
    """Implicit TLS (port 465 style) with AUTH required."""
    server = FakeSmtpServer(
        mode="tls", cert=tls_cert, users={SMTP_USER: SMTP_PASSWORD}, auth_required=True
    ).start()
    yield server
    server.stop()


def _settings_for(server: FakeSmtpServer, **overrides: object) -> SmtpSettings:
    """Settings that fit ``server`` (TLS without verification: the cert is self-signed)."""
    secure = server.mode != "plain"
    values: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "username": SMTP_USER if server.users is not None else None,
        "password": SMTP_PASSWORD if server.users is not None else None,
        "authentication": "plain" if server.users is not None else None,
        "starttls": server.mode == "starttls",
        "ssl": server.mode == "tls",
        "verify_tls": not secure,
        "domain": "client.doxie.test",
        "connect_timeout": 2.0,
        "timeout": 5.0,
    }
    values.update(overrides)
    return SmtpSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def smtp_settings_for() -> Callable[..., SmtpSettings]:
    """``smtp_settings_for(server, **overrides)``: settings that fit a fake server."""
    return _settings_for


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: MotoServer) -> MotoServer:
    """The session's moto server, emptied for this test."""
    moto_server.reset()
    return moto_server


@pytest.fixture
def ses_settings(aws: MotoServer) -> SesSettings:
    return SesSettings(
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        region=REGION,
        endpoint_url=aws.endpoint_url,
    )
