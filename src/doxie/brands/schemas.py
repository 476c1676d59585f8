"""Request and response shapes of the brand operations (A1–A16), with OpenAPI examples.

Input schemas check types, lengths and unknown keys only (``extra="forbid"`` everywhere, so a
typo is a 422, not a silently ignored field); every field is optional because create and
update share the contract's ``brand_input_schema``. The domain rules (formats, required on
create, credentials present for the chosen provider) are enforced by the services, which
report the same ``brand.…`` field paths.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from doxie.brands.models import Brand, MailjetApiUser, SesApiUser, SmtpConfig, Style
from doxie.core.crypto import mask
from doxie.core.pagination import PaginationOut


def _no_nul(value: str) -> str:
    # PostgreSQL text and JSONB cannot store NUL; refusing it here keeps it a 422, not a 500.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _text(max_length: int) -> Any:
    return Annotated[str, StringConstraints(max_length=max_length), AfterValidator(_no_nul)]


Name = _text(200)
Short = _text(100)
FontPath = _text(200)
Host = _text(253)
Key = _text(255)
Secret = _text(4096)
Color = _text(7)
Length = _text(16)
Email = _text(254)
Phone = _text(32)
Days = Annotated[int, Field(ge=1, le=3650)]

_NESTED_CONFIG = ConfigDict(extra="forbid", populate_by_name=True)


class _NestedIn(Schema):
    """Rails nested attributes: ``id`` may be echoed back, ``_destroy: true`` removes."""

    model_config = _NESTED_CONFIG
    id: int | None = Field(None, description="The existing record's id (optional).")
    destroy: bool | None = Field(
        None, alias="_destroy", description="true removes the record from the brand."
    )


class MailjetApiUserIn(_NestedIn):
    public_api_key: Key | None = None
    private_api_key: Secret | None = Field(
        None, description="Write-only. `********` keeps the stored value, null clears it."
    )


class SesApiUserIn(_NestedIn):
    access_key_id: Key | None = None
    secret_access_key: Secret | None = Field(
        None, description="Write-only. `********` keeps the stored value, null clears it."
    )
    region: _text(32) | None = Field(None, examples=["eu-central-1"])  # type: ignore[valid-type]


class SmtpConfigIn(_NestedIn):
    address: Host | None = Field(None, description="SMTP server host name.")
    port: int | None = Field(None, ge=1, le=65535)
    user_name: Key | None = None
    password: Secret | None = Field(
        None, description="Write-only. `********` keeps the stored value, null clears it."
    )
    authentication: Literal["plain", "login", "cram_md5"] | None = None
    enable_starttls_auto: bool | None = None
    enable_ssl: bool | None = Field(None, description="Implicit TLS (usually port 465).")
    openssl_verify_mode: Literal["none", "peer"] | None = None
    domain: Host | None = Field(None, description="The name sent in EHLO.")
    envelope_from: Email | None = Field(None, description="MAIL FROM address.")


class StyleIn(_NestedIn):
    primary_color: Color | None = None
    secondary_color: Color | None = None
    light_accent_color: Color | None = None
    dark_accent_color: Color | None = None
    border_radius: Length | None = None
    font_family: Short | None = None
    fallback_font_family: Short | None = None
    pages_font_family: Short | None = None
    pages_font_family_path: FontPath | None = None
    pages_font_family_weight: list[_text(9)] | None = Field(  # type: ignore[valid-type]
        None, max_length=9
    )
    pages_headline_font_family: Short | None = None
    pages_headline_font_family_path: FontPath | None = None
    pages_headline_font_family_weight: list[_text(9)] | None = Field(  # type: ignore[valid-type]
        None, max_length=9
    )


class BrandIn(Schema):
    """``brand_input_schema``: ``name`` and ``slug`` are required on create."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    slug: _text(64) | None = None  # type: ignore[valid-type]
    sender_phone_number: Phone | None = Field(None, description="E.164, e.g. +491771234567.")
    possible_sender_emails: list[Email] | None = Field(None, max_length=100)
    rcs_possible_senders: list[Short] | None = Field(None, max_length=100)
    pseudonymization_duration_of_sent_messages_in_days: Days | None = None
    storage_duration_of_sent_messages_in_days: Days | None = None
    mail_provider: Literal["mailjet", "ses", "smtp"] | None = Field(
        None, description="The email provider; its credentials must be configured."
    )
    mailjet_sandbox_mode: bool | None = None
    sms77_api_key: Secret | None = Field(
        None, description="seven.io API key for SMS. `********` keeps it, null clears it."
    )
    rcs_api_key: Secret | None = Field(
        None, description="seven.io API key for RCS. `********` keeps it, null clears it."
    )
    mailjet_api_user_attributes: MailjetApiUserIn | None = None
    ses_api_user_attributes: SesApiUserIn | None = None
    smtp_config_attributes: SmtpConfigIn | None = None
    style_attributes: StyleIn | None = None


_INPUT_EXAMPLE = {
    "brand": {
        "name": "Example Brand",
        "slug": "example-brand",
        "sender_phone_number": "+491234567890",
        "possible_sender_emails": ["noreply@example.com"],
        "rcs_possible_senders": ["SenderName"],
        "pseudonymization_duration_of_sent_messages_in_days": 7,
        "storage_duration_of_sent_messages_in_days": 90,
        "mail_provider": "mailjet",
        "mailjet_sandbox_mode": True,
        "sms77_api_key": "1234567890",
        "rcs_api_key": "1234567890",
        "mailjet_api_user_attributes": {
            "public_api_key": "1234567890",
            "private_api_key": "1234567890",
        },
        "smtp_config_attributes": {
            "address": "smtp.example.com",
            "port": 587,
            "user_name": "smtp-user",
            "password": "1234567890",
            "authentication": "plain",
            "enable_starttls_auto": True,
            "enable_ssl": False,
            "openssl_verify_mode": "peer",
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
}


class BrandWrite(Schema):
    """Body of create and update: ``{"brand": {...}}``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_INPUT_EXAMPLE]})
    brand: BrandIn


# --- responses -----------------------------------------------------------------------------


class MailjetApiUserOut(Schema):
    id: int
    public_api_key: str | None
    private_api_key: str | None = Field(description="`********` when set, else null.")


class SesApiUserOut(Schema):
    id: int
    access_key_id: str | None
    region: str | None
    secret_access_key: str | None = Field(description="`********` when set, else null.")


class SmtpConfigOut(Schema):
    id: int
    address: str | None
    port: int
    user_name: str | None
    authentication: str | None
    enable_starttls_auto: bool
    enable_ssl: bool
    openssl_verify_mode: str | None
    domain: str | None
    envelope_from: str | None
    password: str | None = Field(description="`********` when set, else null.")


class StyleOut(Schema):
    id: int
    primary_color: str | None
    secondary_color: str | None
    light_accent_color: str | None
    dark_accent_color: str | None
    border_radius: str | None
    font_family: str | None
    fallback_font_family: str
    pages_font_family: str | None
    pages_font_family_path: str | None
    pages_font_family_weight: list[str]
    pages_headline_font_family: str | None
    pages_headline_font_family_path: str | None
    pages_headline_font_family_weight: list[str]
    created_at: datetime
    updated_at: datetime


_OUTPUT_EXAMPLE = {
    "id": 1,
    "name": "Example Brand",
    "slug": "example-brand",
    "possible_sender_emails": ["noreply@example.com"],
    "sender_phone_number": "+491234567890",
    "rcs_possible_senders": ["SenderName"],
    "pseudonymization_duration_of_sent_messages_in_days": 7,
    "storage_duration_of_sent_messages_in_days": 90,
    "mail_provider": "mailjet",
    "mailjet_sandbox_mode": True,
    "sms77_api_key": "********",
    "rcs_api_key": "********",
    "created_at": "2026-05-08T08:00:00.000Z",
    "updated_at": "2026-05-08T08:00:00.000Z",
    "mailjet_api_user": {
        "id": 1, "public_api_key": "mailjet-public-key", "private_api_key": "********",
    },
    "ses_api_user": None,
    "smtp_config": None,
    "style": {
        "id": 1, "primary_color": "#111111", "secondary_color": "#222222",
        "light_accent_color": "#333333", "dark_accent_color": "#444444",
        "border_radius": "6px", "font_family": "Arial", "fallback_font_family": "sans-serif",
        "pages_font_family": "Poppins", "pages_font_family_path": "poppins",
        "pages_font_family_weight": ["400", "700"], "pages_headline_font_family": "Poppins",
        "pages_headline_font_family_path": "poppins",
        "pages_headline_font_family_weight": ["400", "700"],
        "created_at": "2026-05-08T08:00:00.000Z", "updated_at": "2026-05-08T08:00:00.000Z",
    },
}


class BrandOut(Schema):
    """The brand object; secrets ``********`` when set, provider records null when absent."""

    model_config = ConfigDict(json_schema_extra={"examples": [_OUTPUT_EXAMPLE]})
    id: int
    name: str
    slug: str
    possible_sender_emails: list[str]
    sender_phone_number: str | None
    rcs_possible_senders: list[str]
    pseudonymization_duration_of_sent_messages_in_days: int
    storage_duration_of_sent_messages_in_days: int
    mail_provider: str | None
    mailjet_sandbox_mode: bool
    sms77_api_key: str | None = Field(description="`********` when set, else null.")
    rcs_api_key: str | None = Field(description="`********` when set, else null.")
    created_at: datetime
    updated_at: datetime
    mailjet_api_user: MailjetApiUserOut | None
    ses_api_user: SesApiUserOut | None
    smtp_config: SmtpConfigOut | None
    style: StyleOut | None


class BrandList(Schema):
    brands: list[BrandOut]
    pagination: PaginationOut


def _part(brand: Brand, accessor: str) -> Any:
    """The cached one-to-one record or None (select_related caches misses as None too)."""
    return getattr(brand, accessor, None)


def _mailjet(part: MailjetApiUser) -> dict[str, Any]:
    return {
        "id": part.id,
        "public_api_key": part.public_api_key,
        "private_api_key": mask(part.private_api_key),
    }


def _ses(part: SesApiUser) -> dict[str, Any]:
    return {
        "id": part.id,
        "access_key_id": part.access_key_id,
        "region": part.region,
        "secret_access_key": mask(part.secret_access_key),
    }


def _smtp(part: SmtpConfig) -> dict[str, Any]:
    return {
        "id": part.id,
        "address": part.address,
        "port": part.port,
        "user_name": part.user_name,
        "authentication": part.authentication,
        "enable_starttls_auto": part.enable_starttls_auto,
        "enable_ssl": part.enable_ssl,
        "openssl_verify_mode": part.openssl_verify_mode,
        "domain": part.domain,
        "envelope_from": part.envelope_from,
        "password": mask(part.password),
    }


def _style(part: Style) -> dict[str, Any]:
    return {
        "id": part.id,
        "primary_color": part.primary_color,
        "secondary_color": part.secondary_color,
        "light_accent_color": part.light_accent_color,
        "dark_accent_color": part.dark_accent_color,
        "border_radius": part.border_radius,
        "font_family": part.font_family,
        "fallback_font_family": part.fallback_font_family,
        "pages_font_family": part.pages_font_family,
        "pages_font_family_path": part.pages_font_family_path,
        "pages_font_family_weight": list(part.pages_font_family_weight or []),
        "pages_headline_font_family": part.pages_headline_font_family,
        "pages_headline_font_family_path": part.pages_headline_font_family_path,
        "pages_headline_font_family_weight": list(part.pages_headline_font_family_weight or []),
        "created_at": part.created_at,
        "updated_at": part.updated_at,
    }


def brand_data(brand: Brand) -> dict[str, Any]:
    """The contract's brand object, secrets masked. Expects the parts select_related."""
    mailjet = _part(brand, "mailjet_api_user")
    ses = _part(brand, "ses_api_user")
    smtp = _part(brand, "smtp_config")
    style = _part(brand, "style")
    return {
        "id": brand.id,
        "name": brand.name,
        "slug": brand.slug,
        "possible_sender_emails": list(brand.possible_sender_emails or []),
        "sender_phone_number": brand.sender_phone_number,
        "rcs_possible_senders": list(brand.rcs_possible_senders or []),
        "pseudonymization_duration_of_sent_messages_in_days": (
            brand.pseudonymization_duration_of_sent_messages_in_days
        ),
        "storage_duration_of_sent_messages_in_days": (
            brand.storage_duration_of_sent_messages_in_days
        ),
        "mail_provider": brand.mail_provider,
        "mailjet_sandbox_mode": brand.mailjet_sandbox_mode,
        "sms77_api_key": mask(brand.sms77_api_key),
        "rcs_api_key": mask(brand.rcs_api_key),
        "created_at": brand.created_at,
        "updated_at": brand.updated_at,
        "mailjet_api_user": _mailjet(mailjet) if mailjet else None,
        "ses_api_user": _ses(ses) if ses else None,
        "smtp_config": _smtp(smtp) if smtp else None,
        "style": _style(style) if style else None,
    }


# --- provider set-up (A6–A16) -----------------------------------------------------------------


class MailjetWebhooksOut(Schema):
    brand_id: int
    webhooks_present: bool = Field(description="At least one event type calls back to us.")
    registered_event_types: list[str] = Field(
        examples=[["sent", "open", "click", "bounce", "spam", "blocked", "unsub"]]
    )
    error_message: str | None = Field(
        description="Set when event types of the account call back to a different URL."
    )


class SevenWebhookOut(Schema):
    brand_id: int
    webhooks_present: bool


class SesSetupOut(Schema):
    brand_id: int
    setup_success: bool


class SmtpTestSettingsOut(Schema):
    address: str
    port: int
    enable_ssl: bool
    authentication: str | None
    enable_starttls_auto: bool
    open_timeout: int = Field(description="Connect timeout in seconds.")
    read_timeout: int = Field(description="Timeout per SMTP command in seconds.")
    user_name: str | None
    password: str | None = Field(description="`[REDACTED]` when set, else null.")
    domain: str | None
    openssl_verify_mode: str = Field(description="`peer` unless the brand set `none`.")
    envelope_from: str | None
    ssl: bool = Field(description="Same as enable_ssl (ActionMailer alias).")


class SmtpTestOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "brand_id": 1,
                    "connection_success": True,
                    "settings": {
                        "address": "smtp.example.com", "port": 587, "enable_ssl": False,
                        "authentication": "plain", "enable_starttls_auto": True,
                        "open_timeout": 5, "read_timeout": 15, "user_name": "smtp-user",
                        "password": "[REDACTED]", "domain": "example.com",
                        "openssl_verify_mode": "peer", "envelope_from": "noreply@example.com",
                        "ssl": False,
                    },
                }
            ]
        }
    )
    brand_id: int
    connection_success: bool
    settings: SmtpTestSettingsOut
