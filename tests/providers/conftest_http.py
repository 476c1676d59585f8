"""Fixtures for the HTTP provider tests (fake Mailjet / seven.io servers and adapters on them).

Kept out of ``tests/conftest.py`` and ``tests/providers/conftest.py`` (owned by others); test
modules load it explicitly with ``pytest_plugins``. No fixture here touches the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from doxie.providers.email.mailjet import MailjetProvider, MailjetSettings
from doxie.providers.rcs.seven import SevenRcsProvider
from doxie.providers.sms.seven import SevenSettings, SevenSmsProvider
from tests.fakes.mailjet import FakeMailjet, fake_mailjet_fixture
from tests.fakes.seven import FakeSeven, fake_seven_fixture

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
