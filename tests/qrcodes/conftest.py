"""Fixtures for the QR tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from doxie.processes.models import Event
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.qrcodes.support import PUBLIC_URL, delete_jobs, make_qr_event


@pytest.fixture(autouse=True)
def _qr_settings(settings) -> None:
    settings.DOXIE_PUBLIC_URL = PUBLIC_URL
    settings.DOXIE_ALLOW_PRIVATE_URLS = True


@pytest.fixture
def clean_jobs() -> Iterator[None]:
    delete_jobs()
    yield
    delete_jobs()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def qr_event(tenant) -> Event:
    return make_qr_event(tenant)
