"""Fixtures for the brand tests: real provider peers (fake Mailjet and seven.io servers,
moto in server mode, aiosmtpd with STARTTLS+AUTH) wired in through settings overrides."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# ``tests/`` holds no ``__init__.py``; make ``fakes`` importable however pytest was started.
_TESTS_DIR = str(Path(__file__).resolve().parents[1])
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from fakes.mailjet import FakeMailjet  # noqa: E402
from fakes.moto_server import MotoServer  # noqa: E402
from fakes.seven import FakeSeven  # noqa: E402
from fakes.smtp_server import CertPair, FakeSmtpServer, make_self_signed_cert  # noqa: E402

from doxie.providers import registry  # noqa: E402

PUBLIC_URL = "https://doxie.example.test"
SMTP_USER = "smtp-user"
SMTP_PASSWORD = "smtp-Pa55word!"


@pytest.fixture(autouse=True)
def _public_url(settings) -> None:
    """Callback URLs must be https for SNS; a fixed host keeps assertions readable."""
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


@pytest.fixture
def fake_mailjet(settings) -> Iterator[FakeMailjet]:
    fake = FakeMailjet(public_key="mj-public", private_key="mj-private-SECRET").start()
    settings.DOXIE_MAILJET_API_URL = fake.url
    yield fake
    fake.stop()


@pytest.fixture
def fake_seven(settings) -> Iterator[FakeSeven]:
    fake = FakeSeven(api_key="seven-SECRET-key").start()
    settings.DOXIE_SEVEN_API_URL = fake.url
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def moto_session() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_session: MotoServer, settings) -> MotoServer:
    """The session's moto server, emptied for this test, as ``AWS_ENDPOINT_URL``."""
    moto_session.reset()
    settings.AWS_ENDPOINT_URL = moto_session.endpoint_url
    return moto_session


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> CertPair:
    return make_self_signed_cert(tmp_path_factory.mktemp("brand-smtp-tls"))


@pytest.fixture
def smtp_server(tls_cert: CertPair) -> Iterator[FakeSmtpServer]:
    """Submission-style peer: STARTTLS required, AUTH required after it."""
    server = FakeSmtpServer(
        mode="starttls", cert=tls_cert, users={SMTP_USER: SMTP_PASSWORD}, auth_required=True
    ).start()
    yield server
    server.stop()
