"""Consent purposes as code (apply_config's section) and the Mailer's consent gate."""

from __future__ import annotations

import copy

import pytest

from doxie.consents import config, services
from doxie.consents.models import Consent, ConsentPurpose, ConsentStatus
from doxie.consents.selectors import confirmed_channel_values
from tests.consents.support import start

pytestmark = pytest.mark.django_db

DOCUMENT = {
    "consent_purposes": [
        {
            "slug": "marketing",
            "name": "Marketing",
            "brand": "acme-brand",
            "doi_email_template": {
                "sender": "noreply@example.com",
                "subject": "Bitte bestätigen Sie Ihre Einwilligung",
                "html": "<p><a href='{{ confirmation_url }}'>Jetzt bestätigen</a></p>",
            },
            "doi_sms_template": {"text": "Bitte bestätigen: {{ confirmation_url }}"},
            "success_redirect_url": "https://example.com/danke",
        }
    ]
}


def test_apply_creates_then_is_idempotent_then_updates(tenant, brand):
    assert config.validate(tenant, DOCUMENT) == []

    assert config.apply(tenant, DOCUMENT, dry_run=True) == ["consent purpose 'marketing': created"]
    assert not ConsentPurpose.objects.exists()

    assert config.apply(tenant, DOCUMENT, dry_run=False) == ["consent purpose 'marketing': created"]
    purpose = ConsentPurpose.objects.get(tenant=tenant)
    assert purpose.brand == brand and purpose.doi_email_sender == "noreply@example.com"
    assert purpose.confirmation_validity_hours == 72 and purpose.resend_throttle_seconds == 300
    assert purpose.doi_sms_text.startswith("Bitte bestätigen")
    updated_at = purpose.updated_at

    assert config.apply(tenant, DOCUMENT, dry_run=False) == [
        "consent purpose 'marketing': unchanged"
    ]
    purpose.refresh_from_db()
    assert purpose.updated_at == updated_at

    changed = copy.deepcopy(DOCUMENT)
    changed["consent_purposes"][0]["confirmation_validity_hours"] = 24
    changed["consent_purposes"][0]["doi_email_template"]["text"] = "{{ confirmation_url }}"
    assert config.apply(tenant, changed, dry_run=True) == [
        "consent purpose 'marketing': updated (confirmation_validity_hours, doi_email_text)"
    ]
    purpose.refresh_from_db()
    assert purpose.confirmation_validity_hours == 72  # dry run wrote nothing
    config.apply(tenant, changed, dry_run=False)
    purpose.refresh_from_db()
    assert purpose.confirmation_validity_hours == 24


def test_no_section_is_fine(tenant):
    assert config.validate(tenant, {"events": []}) == []
    assert config.apply(tenant, {"events": []}, dry_run=False) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"brand": "ghost"}, "brand: unknown brand 'ghost'"),
        ({"slug": "Not A Slug"}, "slug: must be lower-case"),
        ({"name": ""}, "name: is required"),
        ({"colour": "red"}, "colour: is not a known field"),
        ({"doi_email_template": {"sender": "x", "subject": "s", "html": "h"}},
         "doi_email_sender: is not a valid email address"),
        ({"doi_email_template": {"sender": "a@example.com", "subject": "s",
                                 "html": "{% if %}"}}, "doi_email_html: template error"),
        ({"doi_sms_template": {"text": "{{ confirmation_url "}}, "doi_sms_text: template error"),
        ({"doi_sms_template": {"text": 5}}, "doi_sms_template.text: must be text"),
        ({"doi_email_template": {"html": "<p>x</p>"}}, "needs sender and subject"),
        ({"success_redirect_url": "javascript:alert(1)"}, "must be an absolute http(s) URL"),
        ({"confirmation_validity_hours": 0}, "confirmation_validity_hours: must be an integer"),
        ({"resend_throttle_seconds": "soon"}, "resend_throttle_seconds: must be an integer"),
    ],
)
def test_validation_reports_every_problem(tenant, brand, change, expected):
    document = copy.deepcopy(DOCUMENT)
    document["consent_purposes"][0].update(change)
    problems = config.validate(tenant, document)
    assert any(expected in p for p in problems), problems


def test_duplicate_slugs_and_section_shape(tenant, brand):
    twice = {"consent_purposes": DOCUMENT["consent_purposes"] * 2}
    assert any("appears twice" in p for p in config.validate(tenant, twice))
    assert config.validate(tenant, {"consent_purposes": {"slug": "x"}}) == [
        "consent_purposes: must be a list"
    ]


def test_sender_must_be_one_of_the_brands_senders(tenant, brand):
    brand.possible_sender_emails = ["info@acme.example"]
    brand.save()
    problems = config.validate(tenant, DOCUMENT)
    assert any("possible sender emails" in p for p in problems)


def test_brand_created_by_the_same_document_is_accepted(tenant):
    document = {**copy.deepcopy(DOCUMENT), "brands": [{"slug": "acme-brand"}]}
    assert config.validate(tenant, document) == []


def test_success_page_html_is_sanitized(tenant, brand):
    document = copy.deepcopy(DOCUMENT)
    document["consent_purposes"][0]["success_page_html"] = "<b>Danke</b><script>x()</script>"
    config.apply(tenant, document, dry_run=False)
    assert ConsentPurpose.objects.get().success_page_html == "<b>Danke</b>"
    assert config.apply(tenant, document, dry_run=False) == [
        "consent purpose 'marketing': unchanged"
    ]


def test_confirmed_channel_values_is_one_query_and_normalizes(
    tenant, purpose, other_purpose, django_assert_num_queries
):
    confirmed, _ = start(tenant, email="max@example.com")
    start(tenant, customer_id="c-2", email="pending@example.com")
    sms, _ = start(tenant, customer_id="c-3", phone="+491771234567")
    revoked, _ = start(tenant, customer_id="c-4", email="gone@example.com")
    Consent.objects.filter(id__in=[confirmed.id, sms.id, revoked.id]).update(
        status=ConsentStatus.CONFIRMED
    )
    services.revoke(tenant=tenant, customer_id="c-4", revoke_all=True, actor=services.SYSTEM)

    values = ["MAX@Example.com", "pending@example.com", "+49 177 1234567", "gone@example.com",
              "not an address", ""]
    with django_assert_num_queries(1):
        result = confirmed_channel_values(tenant, "marketing", values)

    assert result == {"MAX@Example.com", "+49 177 1234567"}
    assert confirmed_channel_values(tenant, "newsletter", values) == set()
    assert confirmed_channel_values(tenant, "marketing", []) == set()


@pytest.mark.django_db(transaction=True)
def test_apply_config_command_runs_the_section(tenant, brand, tmp_path):
    import yaml

    from tests.helpers import run_doxie

    path = tmp_path / "doxie.yaml"
    path.write_text(yaml.safe_dump(DOCUMENT, allow_unicode=True), encoding="utf-8")

    dry = run_doxie("apply_config", "acme", str(path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would change: consent purpose 'marketing': created" in dry.stdout
    assert not ConsentPurpose.objects.exists()

    first = run_doxie("apply_config", "acme", str(path))
    assert first.returncode == 0, first.stderr
    assert ConsentPurpose.objects.get().name == "Marketing"
    again = run_doxie("apply_config", "acme", str(path))
    assert again.returncode == 0 and "no changes" in again.stdout

    broken = copy.deepcopy(DOCUMENT)
    broken["consent_purposes"][0]["brand"] = "ghost"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    failed = run_doxie("apply_config", "acme", str(path))
    assert failed.returncode != 0 and "unknown brand 'ghost'" in failed.stderr


@pytest.mark.parametrize(
    ("part", "source"),
    [
        ("html", "<p>{{ 'a'.center(20000000) }}</p>"),
        ("html", "{{ 1 // 0 }}"),
        ("subject", "{{ purpose_name.nope() }}"),
        ("text", "{% for i in range(10**9) %}{% endfor %}"),
    ],
)
def test_templates_are_tried_with_a_sample_context(tenant, brand, part, source):
    """Syntax alone is not enough: a template that cannot render is refused when configured
    (it would make every P1 for the purpose fail)."""
    document = copy.deepcopy(DOCUMENT)
    document["consent_purposes"][0]["doi_email_template"][part] = source
    problems = config.validate(tenant, document)
    assert any(f"doi_email_{part}: template fails with a sample context" in p
               for p in problems), problems
    sms = copy.deepcopy(DOCUMENT)
    sms["consent_purposes"][0]["doi_sms_template"]["text"] = source
    assert any("doi_sms_text: template fails" in p for p in config.validate(tenant, sms))
