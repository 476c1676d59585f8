"""Request and response shapes for the webhook endpoints API (A23–A27 and our extras)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from doxie.core.http import validate_url_syntax
from doxie.core.pagination import PageParams, PaginationOut
from doxie.webhooks.events import ENDPOINT_TYPES

#: The endpoint ``type`` values, from the event classes (one list: ``events.ENDPOINT_TYPES``).
EndpointTypeLiteral = Literal[ENDPOINT_TYPES]  # type: ignore[valid-type]

_URL_DOC = (
    "Where notifications are POSTed. https is required unless the deployment allows "
    "http and private addresses (development)."
)
_PASSWORD_DOC = "HTTP Basic password; responses show `********`. Stored encrypted."


class EndpointListParams(PageParams):
    show_inactive: bool = Field(
        False, description="Include inactive endpoints (default: only active ones)."
    )


class EndpointOut(Schema):
    id: str = Field(..., examples=["1"])
    type: EndpointTypeLiteral
    url: str = Field(..., examples=["https://hooks.example.com/doxie"])
    basic_auth_username: str | None = Field(None, examples=["username"])
    basic_auth_password: str | None = Field(None, examples=["********"])
    is_active: bool
    send_original_payload: bool
    deactivation_reason: str | None = Field(
        None, description="Why the service deactivated the endpoint (410, 5 days failing)."
    )
    created_at: datetime
    updated_at: datetime


class EndpointWithSecretOut(EndpointOut):
    signing_secret: str = Field(
        ...,
        description="Standard Webhooks signing secret. Shown only here: store it now.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class EndpointList(Schema):
    endpoints: list[EndpointOut]
    pagination: PaginationOut


class AttemptOut(Schema):
    attempt: int
    at: datetime
    response_code: int | None = None
    duration_ms: int | None = None
    error: str | None = None


class InteractionOut(Schema):
    id: str = Field(..., examples=["1"])
    created_at: datetime
    process_id: str | None = Field(None, examples=["123e4567-e89b-12d3-a456-426614174000"])
    requested_method: str = Field(..., examples=["POST"])
    response_code: int | None = Field(None, examples=[200])
    retry_count: int = Field(..., description="Retries so far (0 after the first attempt).")
    sent_payload: dict[str, Any] = Field(..., description="The JSON body sent.")
    transaction_payload: dict[str, Any] = Field(..., description="The full event data.")
    response_payload: Any = Field(
        None, description='The response body: JSON as sent, else `{"body": text}` (≤ 64 KiB).'
    )
    event: str = Field(..., examples=["message_sent"])
    webhook_id: str = Field(..., description="The `webhook-id` header (stable across retries).")
    status: Literal["pending", "delivering", "succeeded", "failed"]
    duration_ms: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    attempts: list[AttemptOut] = Field(default_factory=list, description="Every try, oldest first.")


class InteractionPage(Schema):
    list: list[InteractionOut]  # noqa: A003 - the seed's key
    pagination: PaginationOut


class EndpointDetailOut(EndpointOut):
    interactions: InteractionPage


def _check_url(value: str | None) -> str | None:
    """The deployment's URL policy at the edge, so the error names the full field path
    (the service checks again for callers that are not the API)."""
    if value is not None and (problem := validate_url_syntax(value)):
        raise PydanticCustomError("url", problem)
    return value


class EndpointCreateFields(Schema):
    model_config = ConfigDict(extra="forbid")
    type: EndpointTypeLiteral
    url: str = Field(..., max_length=2048, description=_URL_DOC)
    basic_auth_username: str | None = Field(None, max_length=255, examples=["username"])
    basic_auth_password: str | None = Field(
        None, max_length=1024, description=_PASSWORD_DOC, examples=["password"]
    )
    is_active: bool = True
    send_original_payload: bool = Field(
        False, description="Add the event's `original_payload` to each notification."
    )

    _url = field_validator("url")(_check_url)


class EndpointUpdateFields(Schema):
    model_config = ConfigDict(extra="forbid")
    type: EndpointTypeLiteral | None = None
    url: str | None = Field(None, max_length=2048, description=_URL_DOC)
    basic_auth_username: str | None = Field(None, max_length=255)
    basic_auth_password: str | None = Field(
        None, max_length=1024,
        description=_PASSWORD_DOC + " `********` or omitted keeps it, null clears it.",
    )
    is_active: bool | None = None
    send_original_payload: bool | None = None

    _url = field_validator("url")(_check_url)


_EXAMPLE = {
    "type": "Webhook::MessageSentEndpoint",
    "url": "https://hooks.example.com/doxie",
    "basic_auth_username": "username",
    "basic_auth_password": "password",
    "is_active": True,
    "send_original_payload": False,
}


class EndpointCreate(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"webhook_abstract_endpoint": _EXAMPLE}]},
    )
    webhook_abstract_endpoint: EndpointCreateFields


class EndpointUpdate(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"webhook_abstract_endpoint": {"is_active": False}}]},
    )
    webhook_abstract_endpoint: EndpointUpdateFields

