"""Request bodies and brand makers shared by the brand tests."""

from __future__ import annotations

import copy
from typing import Any

BASE = "/api/v1/acme/admin/brands"
OTHER_BASE = "/api/v1/other/admin/brands"

#: Distinct, greppable secret values (the secrecy tests search responses and logs for them).
SECRETS = {
    "sms77_api_key": "sms-SECRET-4711",
    "rcs_api_key": "rcs-SECRET-4712",
    "private_api_key": "mj-private-SECRET",
    "secret_access_key": "aws-SECRET-4714",
    "password": "smtp-SECRET-4715",
}

SEED_BRAND: dict[str, Any] = {
    "name": "Example Brand",
    "slug": "example-brand",
    "sender_phone_number": "+491234567890",
    "possible_sender_emails": ["noreply@example.com"],
    "rcs_possible_senders": ["SenderName"],
    "pseudonymization_duration_of_sent_messages_in_days": 7,
    "storage_duration_of_sent_messages_in_days": 90,
    "mail_provider": "mailjet",
    "mailjet_sandbox_mode": True,
    "sms77_api_key": SECRETS["sms77_api_key"],
    "rcs_api_key": SECRETS["rcs_api_key"],
    "mailjet_api_user_attributes": {
        "public_api_key": "mj-public",
        "private_api_key": SECRETS["private_api_key"],
    },
    "ses_api_user_attributes": {
        "access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "secret_access_key": SECRETS["secret_access_key"],
        "region": "eu-central-1",
    },
    "smtp_config_attributes": {
        "address": "smtp.example.com",
        "port": 587,
        "user_name": "smtp-user",
        "password": SECRETS["password"],
        "authentication": "plain",
        "enable_starttls_auto": True,
        "enable_ssl": False,
        "openssl_verify_mode": None,
        "domain": "example.com",
        "envelope_from": "noreply@example.com",
    },
    "style_attributes": {
        "primary_color": "#111111",
        "secondary_color": "#222222",
        "light_accent_color": "#333333",
        "dark_accent_color": "#444444",
        "border_radius": "6px",
        "font_family": "Arial",
        "pages_font_family": "Poppins",
        "pages_font_family_path": "poppins",
        "pages_headline_font_family": "Poppins",
        "pages_headline_font_family_path": "poppins",
    },
}

BRAND_KEYS = {
    "id", "name", "slug", "possible_sender_emails", "sender_phone_number",
    "rcs_possible_senders", "pseudonymization_duration_of_sent_messages_in_days",
    "storage_duration_of_sent_messages_in_days", "mail_provider", "mailjet_sandbox_mode",
    "sms77_api_key", "rcs_api_key", "created_at", "updated_at", "mailjet_api_user",
    "ses_api_user", "smtp_config", "style",
}
MAILJET_KEYS = {"id", "public_api_key", "private_api_key"}
SES_KEYS = {"id", "access_key_id", "region", "secret_access_key"}
SMTP_KEYS = {
    "id", "address", "port", "user_name", "authentication", "enable_starttls_auto",
    "enable_ssl", "openssl_verify_mode", "domain", "envelope_from", "password",
}
STYLE_KEYS = {
    "id", "primary_color", "secondary_color", "light_accent_color", "dark_accent_color",
    "border_radius", "font_family", "fallback_font_family", "pages_font_family",
    "pages_font_family_path", "pages_font_family_weight", "pages_headline_font_family",
    "pages_headline_font_family_path", "pages_headline_font_family_weight", "created_at",
    "updated_at",
}


def seed_body(**overrides: Any) -> dict[str, Any]:
    """The seed's create body (secrets made greppable), top-level keys overridden."""
    brand = copy.deepcopy(SEED_BRAND)
    brand.update(overrides)
    return {"brand": brand}


def minimal_body(slug: str = "minimal", **extra: Any) -> dict[str, Any]:
    return {"brand": {"name": f"Brand {slug}", "slug": slug, **extra}}


def make_brand(tenant: Any, slug: str = "example-brand", **overrides: Any) -> Any:
    """A brand created through the service (the API's own write path), parts loaded."""
    from doxie.brands import services

    attributes = copy.deepcopy(SEED_BRAND)
    attributes["slug"] = slug
    attributes.update(overrides)
    return services.create_brand(tenant=tenant, attributes=attributes)


def make_bare_brand(tenant: Any, slug: str = "bare", **attributes: Any) -> Any:
    """A brand with no provider records and no secrets."""
    from doxie.brands import services

    return services.create_brand(
        tenant=tenant, attributes={"name": f"Brand {slug}", "slug": slug, **attributes}
    )
