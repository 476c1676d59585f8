"""A2/A4 validation: every rule answers 422 with a field-level detail, nothing is written;
duplicate slugs answer 409."""

from __future__ import annotations

from typing import Any

import pytest

from doxie.brands.models import Brand, SmtpConfig
from tests.brands.payloads import BASE, make_bare_brand, make_brand, minimal_body, seed_body


def _smtp(**fields: Any) -> dict[str, Any]:
    return {"smtp_config_attributes": {"address": "smtp.example.com", **fields}}


def _style(**fields: Any) -> dict[str, Any]:
    return {"style_attributes": fields}


# (extra brand attributes, expected field, fragment of the message)
CASES: list[tuple[dict[str, Any], str, str]] = [
    ({"slug": "Not A Slug"}, "brand.slug", "lower-case"),
    ({"slug": "-leading"}, "brand.slug", "lower-case"),
    ({"slug": "x" * 65}, "brand.slug", "at most 64"),
    ({"name": "   "}, "brand.name", "blank"),
    ({"name": None}, "brand.name", "must not be null"),
    ({"possible_sender_emails": ["ok@example.com", "not-an-email"]},
     "brand.possible_sender_emails.1", "valid email"),
    ({"possible_sender_emails": "noreply@example.com"}, "brand.possible_sender_emails",
     "valid list"),
    ({"possible_sender_emails": None}, "brand.possible_sender_emails", "null"),
    ({"sender_phone_number": "01771234567"}, "brand.sender_phone_number", "E.164"),
    ({"sender_phone_number": "+49 177 1234567"}, "brand.sender_phone_number", "E.164"),
    ({"sender_phone_number": "+1234"}, "brand.sender_phone_number", "possible"),
    ({"sender_phone_number": "+4912"}, "brand.sender_phone_number", "possible"),
    ({"rcs_possible_senders": ["<script>"]}, "brand.rcs_possible_senders.0", "letters"),
    ({"mail_provider": "sendgrid"}, "brand.mail_provider", "'mailjet'"),
    ({"mail_provider": "smtp"}, "brand.smtp_config_attributes", "required when mail_provider"),
    ({"mail_provider": "mailjet", "mailjet_api_user_attributes": {"public_api_key": "pub"}},
     "brand.mailjet_api_user_attributes.private_api_key", "required when mail_provider"),
    ({"mail_provider": "ses",
      "ses_api_user_attributes": {"access_key_id": "AKIA", "secret_access_key": "x"}},
     "brand.ses_api_user_attributes.region", "required when mail_provider"),
    ({"ses_api_user_attributes": {"region": "Frankfurt"}}, "brand.ses_api_user_attributes.region",
     "AWS region"),
    ({"pseudonymization_duration_of_sent_messages_in_days": 0},
     "brand.pseudonymization_duration_of_sent_messages_in_days", "greater than or equal to 1"),
    ({"storage_duration_of_sent_messages_in_days": -5},
     "brand.storage_duration_of_sent_messages_in_days", "greater than or equal to 1"),
    ({"storage_duration_of_sent_messages_in_days": 4000},
     "brand.storage_duration_of_sent_messages_in_days", "less than or equal to 3650"),
    ({"pseudonymization_duration_of_sent_messages_in_days": 100,
      "storage_duration_of_sent_messages_in_days": 30},
     "brand.pseudonymization_duration_of_sent_messages_in_days", "must not exceed"),
    (_smtp(port=0), "brand.smtp_config_attributes.port", "greater than or equal to 1"),
    (_smtp(port=70000), "brand.smtp_config_attributes.port", "less than or equal to 65535"),
    (_smtp(port="abc"), "brand.smtp_config_attributes.port", "valid integer"),
    (_smtp(address="smtp example com"), "brand.smtp_config_attributes.address", "host name"),
    (_smtp(domain="bad_domain!"), "brand.smtp_config_attributes.domain", "host name"),
    (_smtp(envelope_from="nobody"), "brand.smtp_config_attributes.envelope_from",
     "valid email"),
    (_smtp(authentication="ntlm"), "brand.smtp_config_attributes.authentication", "'plain'"),
    (_smtp(openssl_verify_mode="maybe"), "brand.smtp_config_attributes.openssl_verify_mode",
     "'none'"),
    (_smtp(enable_ssl=None), "brand.smtp_config_attributes.enable_ssl", "null"),
    (_style(primary_color="red"), "brand.style_attributes.primary_color", "hex colour"),
    (_style(secondary_color="#12345"), "brand.style_attributes.secondary_color", "hex colour"),
    (_style(dark_accent_color="#gggggg"), "brand.style_attributes.dark_accent_color",
     "hex colour"),
    (_style(border_radius="6"), "brand.style_attributes.border_radius", "CSS length"),
    (_style(border_radius="6px; color: red"), "brand.style_attributes.border_radius",
     "CSS length"),
    (_style(font_family="Arial; } body { x"), "brand.style_attributes.font_family", "letters"),
    (_style(pages_font_family_path="../../etc"), "brand.style_attributes.pages_font_family_path",
     "relative path"),
    (_style(pages_font_family_weight=["400", "bold"]),
     "brand.style_attributes.pages_font_family_weight.1", "weight"),
    ({"name": "nul\x00byte"}, "brand.name", "NUL"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("extra", "field", "fragment"), CASES)
def test_create_validation(api, admin, extra, field, fragment):
    response = api.post(BASE, minimal_body(**extra), caller=admin)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["success"] is False and body["data"] is None
    assert any(d["field"] == field and fragment in d["message"] for d in body["details"]), body
    assert Brand.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("extra", "field", "fragment"), CASES[:6] + CASES[-8:])
def test_update_validation_changes_nothing(api, admin, tenant, extra, field, fragment):
    brand = make_brand(tenant, mail_provider="smtp")
    before = api.get(f"{BASE}/{brand.id}", caller=admin).json()["data"]
    response = api.patch(f"{BASE}/{brand.id}", {"brand": extra}, caller=admin)
    assert response.status_code == 422, response.content
    assert any(d["field"] == field and fragment in d["message"]
               for d in response.json()["details"])
    assert api.get(f"{BASE}/{brand.id}", caller=admin).json()["data"] == before


@pytest.mark.django_db
def test_several_problems_are_reported_together(api, admin):
    response = api.post(
        BASE,
        minimal_body(slug="BAD", sender_phone_number="123", **_style(primary_color="blue")),
        caller=admin,
    )
    fields = {d["field"] for d in response.json()["details"]}
    assert {"brand.slug", "brand.sender_phone_number",
            "brand.style_attributes.primary_color"} <= fields


@pytest.mark.django_db
def test_required_on_create(api, admin):
    response = api.post(BASE, {"brand": {}}, caller=admin)
    assert response.status_code == 422
    assert {d["field"] for d in response.json()["details"]} == {"brand.name", "brand.slug"}
    assert api.post(BASE, {}, caller=admin).status_code == 422
    assert api.post(BASE, {"brand": "nope"}, caller=admin).status_code == 422


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"brand": {"name": "x", "slug": "x", "colour": "#fff"}}, "brand.colour"),
        ({"brand": {"name": "x", "slug": "x"}, "extra": 1}, "extra"),
        ({"brand": {"name": "x", "slug": "x", "smtp_config_attributes": {"host": "a"}}},
         "brand.smtp_config_attributes.host"),
        ({"brand": {"name": "x", "slug": "x", "style_attributes": {"color": "#fff"}}},
         "brand.style_attributes.color"),
        ({"brand": {"name": "x", "slug": "x", "inbound_token": "mine"}}, "brand.inbound_token"),
    ],
)
def test_unknown_keys_are_422(api, admin, body, field):
    response = api.post(BASE, body, caller=admin)
    assert response.status_code == 422
    assert {"field": field, "message": "is not a known field"} in response.json()["details"]


@pytest.mark.django_db
def test_nested_id_must_be_the_brands_own(api, admin, tenant):
    brand = make_brand(tenant)
    other = make_brand(tenant, slug="other-brand")
    response = api.patch(
        f"{BASE}/{brand.id}",
        {"brand": {"smtp_config_attributes": {"id": other.smtp_config.id, "port": 25}}},
        caller=admin,
    )
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "brand.smtp_config_attributes.id"
    assert SmtpConfig.objects.get(id=other.smtp_config.id).port == 587


@pytest.mark.django_db
def test_clearing_credentials_of_the_chosen_provider_is_refused(api, admin, tenant):
    brand = make_brand(tenant)  # mail_provider mailjet
    response = api.patch(
        f"{BASE}/{brand.id}",
        {"brand": {"mailjet_api_user_attributes": {"private_api_key": None}}},
        caller=admin,
    )
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == (
        "brand.mailjet_api_user_attributes.private_api_key"
    )
    destroy = api.patch(
        f"{BASE}/{brand.id}", {"brand": {"mailjet_api_user_attributes": {"_destroy": True}}},
        caller=admin,
    )
    assert destroy.status_code == 422
    # Switching away first makes it possible.
    switched = api.patch(
        f"{BASE}/{brand.id}",
        {"brand": {"mail_provider": "smtp", "mailjet_api_user_attributes": {"_destroy": True}}},
        caller=admin,
    )
    assert switched.status_code == 200, switched.content
    assert switched.json()["data"]["mailjet_api_user"] is None


@pytest.mark.django_db
def test_pseudonymization_checked_against_stored_storage(api, admin, tenant):
    brand = make_bare_brand(
        tenant,
        pseudonymization_duration_of_sent_messages_in_days=5,
        storage_duration_of_sent_messages_in_days=10,
    )
    response = api.patch(
        f"{BASE}/{brand.id}",
        {"brand": {"pseudonymization_duration_of_sent_messages_in_days": 11}},
        caller=admin,
    )
    assert response.status_code == 422
    equal = api.patch(
        f"{BASE}/{brand.id}",
        {"brand": {"pseudonymization_duration_of_sent_messages_in_days": 10}},
        caller=admin,
    )
    assert equal.status_code == 200


@pytest.mark.django_db
def test_duplicate_slug_is_409_on_create_and_rename(api, admin, tenant):
    assert api.post(BASE, seed_body(), caller=admin).status_code == 201
    duplicate = api.post(BASE, seed_body(), caller=admin)
    assert duplicate.status_code == 409
    assert duplicate.json()["success"] is False
    assert "example-brand" in duplicate.json()["error"]
    second = make_bare_brand(tenant, slug="second")
    rename = api.patch(f"{BASE}/{second.id}", {"brand": {"slug": "example-brand"}}, caller=admin)
    assert rename.status_code == 409
    # Keeping its own slug is not a conflict.
    same = api.patch(f"{BASE}/{second.id}", {"brand": {"slug": "second"}}, caller=admin)
    assert same.status_code == 200


@pytest.mark.django_db
def test_seed_values_are_accepted(api, admin):
    body = seed_body()
    body["brand"]["smtp_config_attributes"].update(enable_ssl=True, openssl_verify_mode="none")
    response = api.post(BASE, body, caller=admin)
    assert response.status_code == 201, response.content
    smtp = response.json()["data"]["smtp_config"]
    assert smtp["enable_ssl"] is True and smtp["openssl_verify_mode"] == "none"


@pytest.mark.django_db
@pytest.mark.parametrize("length", ["0", "6px", "0.5rem", "1em", "50%", ".25rem", "12pt"])
def test_css_lengths_accepted(api, admin, length):
    response = api.post(BASE, minimal_body(**_style(border_radius=length)), caller=admin)
    assert response.status_code == 201, response.content
