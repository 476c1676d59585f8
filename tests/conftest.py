"""Shared fixtures. Tests run against a real PostgreSQL: the one at DATABASE_URL, else the
embedded server the settings module starts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.mailjet import FakeMailjet
from tests.fakes.moto_server import MotoServer
from tests.fakes.seven import FakeSeven
from tests.helpers import (
    ApiClient,
    Caller,
    make_admin_caller,
    make_api_caller,
    make_tenant,
)


@pytest.fixture
def api() -> ApiClient:
    return ApiClient()


@pytest.fixture
def tenant(db):
    return make_tenant("acme")


@pytest.fixture
def other_tenant(db):
    return make_tenant("other")


@pytest.fixture
def admin(tenant) -> Caller:
    return make_admin_caller(tenant)


@pytest.fixture
def reader(tenant) -> Caller:
    return make_admin_caller(tenant, write=False)


@pytest.fixture
def writer_without_read(tenant) -> Caller:
    return make_admin_caller(tenant, read=False)


@pytest.fixture
def other_admin(other_tenant) -> Caller:
    return make_admin_caller(other_tenant)


@pytest.fixture
def api_caller(tenant) -> Caller:
    return make_api_caller(tenant)


@pytest.fixture
def other_api_caller(other_tenant) -> Caller:
    return make_api_caller(other_tenant, username="other-client")


# Provider peers shared by the brands, messaging and consents suites. Each points the
# matching base-URL setting at itself for the test's duration.


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
