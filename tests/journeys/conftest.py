"""Fixtures for journeys: an injector event with templates and a published journey, a brand
sending into aiosmtpd, and helpers that run the real worker until a condition holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from doxie.journeys import definition as d
from doxie.journeys import services
from doxie.journeys.models import JourneyVersion
from doxie.messaging.models import EmailTemplate
from doxie.processes.models import Event, EventKind
from tests.helpers import run_jobs
from tests.messaging.conftest import (  # noqa: F401 - fixtures
    SENDER,
    _fresh_registry,
    _messaging_settings,
    clean_jobs,
    make_brand,
    receiver,
    smtp_server,
)

TEMPLATES = {
    "welcome": "<p>Hallo <a href='https://example.com/start'>Start</a></p>",
    "tips": "<p><a href='https://example.com/tipps'>Tipps</a></p>",
    "pro": "<p>Pro</p>",
}


def make_injector(tenant, brand, journey: dict[str, Any], slug: str = "onboarding") -> Event:
    event = Event.objects.create(
        tenant=tenant, brand=brand, slug=slug, kind=EventKind.INJECTOR,
        parameters=[{"name": "email", "required": True}, {"name": "plan"}],
    )
    for i, (name, html) in enumerate(TEMPLATES.items()):
        EmailTemplate.objects.create(
            tenant=tenant, event=event, name=name, position=i, sender=SENDER,
            to="{{ email }}", subject=name.title(), html=html)
    publish(tenant, event, journey)
    return event


def publish(tenant, event, journey: dict[str, Any]) -> JourneyVersion:
    compiled, problems = d.compile_journey(journey, d.Templates(email=set(TEMPLATES)))
    assert compiled is not None, problems
    version, _ = services.publish_version(tenant=tenant, event=event, compiled=compiled)
    return version


def run_until(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Run the real worker (due jobs only) until ``condition`` holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run_jobs()
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def inject(api, caller, body=None, slug: str = "onboarding", tenant: str = "acme"):
    return api.post(f"/api/v1/{tenant}/injector/{slug}",
                    body if body is not None else {"email": "max@example.org"}, caller=caller)
