"""Fixtures for the inbound-callback tests: a brand, a real webhook receiver, job cleanup."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.webhook_receiver import WebhookReceiver
from tests.inbound.support import delete_jobs, make_brand


@pytest.fixture
def brand(tenant):
    return make_brand(tenant)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def clean_jobs() -> Iterator[None]:
    delete_jobs()
    yield
    delete_jobs()
