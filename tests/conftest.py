"""Shared fixtures. Tests run against a real PostgreSQL: the one at DATABASE_URL, else the
embedded server the settings module starts."""

from __future__ import annotations

import pytest

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
