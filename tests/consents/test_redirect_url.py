"""``success_redirect_url`` goes through the one tenant-URL validator (core.urlcheck), in
``apply_config`` and in the admin form alike."""

from __future__ import annotations

import copy

import pytest

from doxie.consents import config
from doxie.consents.config import field_problems

pytestmark = pytest.mark.django_db

PURPOSE = {
    "slug": "marketing",
    "name": "Marketing",
    "brand": "acme-brand",
    "doi_sms_template": {"text": "Bitte bestätigen: {{ confirmation_url }}"},
}
FIELD = "consent_purposes[marketing].success_redirect_url"

BAD = [
    ("javascript:alert(1)", "absolute http(s) URL"),
    ("//evil.example/x", "absolute http(s) URL"),
    ("/danke", "absolute http(s) URL"),
    ("https:///danke", "must have a host"),
    ("https://example.com/dan ke", "whitespace or control"),
    (" https://example.com/", "whitespace or control"),
    ("https://example.com/\x00", "whitespace or control"),
    ("https://example.com/\r\nSet-Cookie: x=1", "whitespace or control"),
    ("https://example.com/\u202edanke", "whitespace or control"),
    ("https://user:pw@example.com/", "credentials"),
    ("https://example.com:99999/", "invalid port"),
    ("https://" + "a" * 2100 + ".example/", "at most 2048"),
]


@pytest.mark.parametrize(("url", "fragment"), BAD)
def test_apply_config_refuses_bad_redirect_urls(tenant, brand, url, fragment):
    document = {"consent_purposes": [{**copy.deepcopy(PURPOSE), "success_redirect_url": url}]}
    problems = [p for p in config.validate(tenant, document) if p.startswith(FIELD)]
    assert problems and fragment in problems[0], problems


@pytest.mark.parametrize("url", ["https://example.com/danke?x=1#top", "http://bücher.example/",
                                 "https://[2001:db8::1]:8443/ok"])
def test_apply_config_accepts_absolute_http_urls(tenant, brand, url):
    document = {"consent_purposes": [{**copy.deepcopy(PURPOSE), "success_redirect_url": url}]}
    assert config.validate(tenant, document) == []


def test_the_admin_form_shares_the_rule():
    values = {"doi_sms_text": "x", "confirmation_validity_hours": 1, "resend_throttle_seconds": 0}
    assert field_problems({**values, "success_redirect_url": "https://example.com/ok"}) == []
    [(field, message)] = field_problems({**values, "success_redirect_url": "https://a.b/\u200b"})
    assert field == "success_redirect_url" and "whitespace or control" in message
