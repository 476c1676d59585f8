"""Fixtures for the survey tests: a brand, a survey event applied through ``apply_config``
(the real path), and helpers to invite and to read the link out of the queued message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from doxie.surveys.models import Survey
from tests.consents.conftest import delete_jobs, make_brand

PUBLIC_URL = "https://doxie.example.test"
INQUIRIES = "/api/v1/{tenant}/surveys/{slug}/inquiries"
LINK = re.compile(r"https?://[^\s'\"<>]+/s/[A-Za-z0-9_-]+")

DEFINITION = {
    "valid_for_days": 14,
    "reminder_after_days": 3,
    "title": "Wie zufrieden sind Sie?",
    "completedHtml": "<p>Danke für <b>Ihre</b> Meinung!</p><script>alert(1)</script>",
    "pages": [
        {"elements": [
            {"type": "rating", "name": "nps", "title": "Wie wahrscheinlich empfehlen Sie uns?",
             "rateMin": 0, "rateMax": 10, "isRequired": True},
            {"type": "radiogroup", "name": "channel", "title": "Wie haben Sie uns gefunden?",
             "choices": ["Suche", "Freunde", "Werbung"]},
            {"type": "text", "name": "why_low", "title": "Was fehlt Ihnen?",
             "visibleIf": "{nps} <= 6"},
        ]},
        {"elements": [
            {"type": "checkbox", "name": "topics", "title": "Was interessiert Sie?",
             "choices": ["Strom", "Gas", {"value": "solar", "text": "Solar"}]},
            {"type": "comment", "name": "remarks", "title": "Anmerkungen"},
            {"type": "text", "name": "mail", "title": "E-Mail", "inputType": "email"},
        ]},
    ],
}


def event_document(definition=None, slug: str = "feedback") -> dict:
    return {"events": [{
        "slug": slug, "kind": "survey", "brand": "acme-brand",
        "parameters": [{"name": "first_name", "required": True}],
        "survey": definition or DEFINITION,
        "email_templates": [{
            "name": "Einladung", "sender": "noreply@acme.example", "to": "{{ email }}",
            "subject": "Ihre Meinung, {{ first_name }}",
            "html": "<p><a href='{{ survey_url }}'>Zur Umfrage</a></p>",
        }],
        "sms_templates": [{"name": "Einladung SMS", "to": "{{ phone }}",
                           "text": "Ihre Meinung: {{ survey_url }}"}],
    }]}


def apply(tenant, document: dict, tmp_path: Path, *args: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    call_command("apply_config", tenant.slug, str(path), *args)


@pytest.fixture(autouse=True)
def _public_url(settings) -> None:
    settings.DOXIE_PUBLIC_URL = PUBLIC_URL


@pytest.fixture(autouse=True)
def _outbox(settings, tmp_path) -> Path:
    settings.DOXIE_OUTBOX_DIR = tmp_path / "outbox"
    return settings.DOXIE_OUTBOX_DIR


@pytest.fixture
def brand(tenant):
    return make_brand(tenant, possible_sender_emails=["noreply@acme.example"],
                      sender_phone_number="+4915112345678")


@pytest.fixture
def survey(tenant, brand, tmp_path) -> Survey:
    apply(tenant, event_document(), tmp_path)
    return Survey.objects.get(event__slug="feedback")


@pytest.fixture
def clean_jobs():
    delete_jobs()
    yield
    delete_jobs()


def invite(api, caller, tenant_slug: str = "acme", slug: str = "feedback", **body):
    payload = {"email": "max@example.com", "first_name": "Max", **body}
    return api.post(INQUIRIES.format(tenant=tenant_slug, slug=slug), payload, caller=caller)


def link_in(text: str) -> str:
    match = LINK.search(text)
    assert match, f"no survey link in {text!r}"
    return match.group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]
