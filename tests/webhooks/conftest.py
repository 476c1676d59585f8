"""Fixtures for webhook tests: a real HTTP receiver on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from tests.fakes.webhook_receiver import WebhookReceiver


def _delete_jobs() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")
        cursor.execute("DELETE FROM procrastinate_periodic_defers")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def clean_jobs() -> Iterator[None]:
    """procrastinate's tables are unmanaged, so transactional tests' flush leaves them: clean
    before (leftovers of other tests) and after (for the tests that follow)."""
    _delete_jobs()
    yield
    _delete_jobs()
