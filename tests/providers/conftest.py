"""Real peers for the email provider tests: aiosmtpd servers and a moto server.

None of these fixtures touches the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from doxie.providers.email.mailjet import MailjetProvider, MailjetSettings
from doxie.providers.email.ses import SesSettings
from doxie.providers.email.smtp import SmtpSettings
from doxie.providers.rcs.seven import SevenRcsProvider
from doxie.providers.sms.seven import SevenSettings, SevenSmsProvider
from tests.fakes.mailjet import FakeMailjet, fake_mailjet_fixture
from tests.fakes.moto_server import ACCESS_KEY, REGION, SECRET_KEY, MotoServer
from tests.fakes.seven import FakeSeven, fake_seven_fixture
from tests.fakes.smtp_server import CertPair, FakeSmtpServer, make_self_signed_cert

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

# Mailjet and seven.io peers for the HTTP adapters (closer than the root conftest).
fake_mailjet = fake_mailjet_fixture()
fake_seven = fake_seven_fixture()

#: Short enough to keep timeout tests fast, long enough for a loaded CI box.
TEST_TIMEOUT = httpx.Timeout(1.0, connect=1.0)


@pytest.fixture
def mailjet_settings(fake_mailjet: FakeMailjet) -> MailjetSettings:
    return MailjetSettings(
        public_api_key=fake_mailjet.public_key,
        private_api_key=fake_mailjet.private_key,
        sandbox=True,
        base_url=fake_mailjet.url,
    )


@pytest.fixture
def seven_settings(fake_seven: FakeSeven) -> SevenSettings:
    return SevenSettings(api_key=fake_seven.api_key, base_url=fake_seven.url)


@pytest.fixture
async def provider_http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=TEST_TIMEOUT) as client:
        yield client


@pytest.fixture
async def mailjet_provider(
    mailjet_settings: MailjetSettings, provider_http_client: httpx.AsyncClient
) -> AsyncIterator[MailjetProvider]:
    provider = MailjetProvider(mailjet_settings, provider_http_client)
    yield provider
    await provider.aclose()


@pytest.fixture
async def seven_sms_provider(
    seven_settings: SevenSettings, provider_http_client: httpx.AsyncClient
) -> AsyncIterator[SevenSmsProvider]:
    provider = SevenSmsProvider(seven_settings, provider_http_client)
    yield provider
    await provider.aclose()


@pytest.fixture
async def seven_rcs_provider(
    seven_settings: SevenSettings, provider_http_client: httpx.AsyncClient
) -> AsyncIterator[SevenRcsProvider]:
    provider = SevenRcsProvider(seven_settings, provider_http_client)
    yield provider
    await provider.aclose()
