"""Fixtures for the brand tests: real provider peers (fake Mailjet and seven.io servers,
moto in server mode, aiosmtpd with STARTTLS+AUTH) wired in through settings overrides."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from doxie.providers import registry
from tests.fakes.smtp_server import CertPair, FakeSmtpServer, make_self_signed_cert

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
