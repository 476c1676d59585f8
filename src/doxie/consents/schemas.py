"""Request and response schemas of the consent operations (P1, P2 and the admin API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Schema
from pydantic import BeforeValidator, ConfigDict, Field


def _number_as_text(value: Any) -> Any:
    # Integrators often send customer ids as JSON numbers; they are identifiers, not numbers.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


CustomerId = Annotated[str, BeforeValidator(_number_as_text)]


class InitiateIn(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "1234567890",
                    "consent_slug": "marketing",
                    "phone": "+491234567890",
                    "email": None,
                }
            ]
        },
    )
    customer_id: CustomerId = Field(
        ..., min_length=1, max_length=255, description="The ID of the contact"
    )
    consent_slug: str = Field(
        ..., min_length=1, max_length=100, description="The slug of the consent purpose"
    )
    phone: str | None = Field(
        None,
        max_length=64,
        description="The phone number for the consent (E.164, leading +). "
        "Only one contact channel is allowed.",
    )
    email: str | None = Field(
        None,
        max_length=320,
        description="The email for the consent. Only one contact channel is allowed.",
    )


class ConsentOut(Schema):
    customer_id: str
    consent_slug: str
    contact_channel: str
    process_uuid: str | None


class RevokeIn(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"customer_id": "1234567890", "consent_slug": "marketing", "revoke_all": False}
            ]
        },
    )
    customer_id: CustomerId = Field(
        ..., min_length=1, max_length=255, description="The ID of the contact"
    )
    consent_slug: str | None = Field(
        None, max_length=100, description="The slug of the consent purpose"
    )
    revoke_all: bool = Field(
        False,
        description="Whether to revoke all consents for the contact or only the consent for "
        "the consent slug",
    )


class RevokedOut(Schema):
    revoked_consents: list[ConsentOut]


class RevokeEnvelope(Schema):
    """The seed's P2 response: this envelope has no ``process_uuid`` key."""

    success: bool = True
    error_message: str | None = None
    data: RevokedOut


class LedgerEntryOut(Schema):
    seq: int
    kind: str
    occurred_at: datetime
    actor: str
    ip: str | None
    user_agent: str
    channel: str
    channel_value_hash: str
    shown_text: str
    data: dict[str, Any]
    prev_hash: str
    entry_hash: str


class ContactConsentOut(Schema):
    id: int
    consent_slug: str
    purpose_name: str
    channel: str
    contact_channel: str
    status: str
    process_uuid: str | None
    created_at: datetime
    expires_at: datetime
    confirmed_at: datetime | None
    confirmed_ip: str | None
    confirmed_user_agent: str
    revoked_at: datetime | None
    ledger: list[LedgerEntryOut]


class ContactConsentsOut(Schema):
    customer_id: str
    email: str | None
    phone: str | None
    created_at: datetime
    erased_at: datetime | None
    consents: list[ContactConsentOut]
    ledger: list[LedgerEntryOut] = Field(
        description="Entries about the contact as a whole (e.g. erasure)"
    )


class ErasureOut(Schema):
    customer_id: str = Field(description="The customer id as it was before erasure")
    pseudonym: str = Field(description="The contact's customer id from now on")
    erased_at: datetime
    consents: int = Field(description="Consents pseudonymized")
    revoked_consents: int = Field(description="Active consents revoked by the erasure")
