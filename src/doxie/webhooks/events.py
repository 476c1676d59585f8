"""The webhook notifications Doxie sends: one frozen class per event of the contract.

Each class is the single place that knows an event's name (the ``Doxie-Event`` header), the
endpoint type that receives it and its payload: the fields, in the seed's order, *are* the
flat JSON body (a field's ``metadata["key"]`` renames it, e.g. ``ipAddress``). Datetimes are
written with :func:`doxie.core.timefmt.isoformat_z`, tuples as lists, UUIDs as strings; every
other value must already be JSON. ``original_payload`` is added by :meth:`WebhookEvent.payload`
for endpoints that asked for it, so no caller ever assembles a webhook dict.

``webhooks.services.emit``/``emit_many`` accept only instances of these classes, the model's
endpoint type choices and the API's ``type`` ``Literal`` are derived from :data:`ENDPOINT_TYPES`
below, and the event registry from :data:`EVENTS`.

Adding an event (e.g. ``survey_response`` or ``consent_revoked``) is one class, here::

    @dataclass(frozen=True, kw_only=True, slots=True)
    class SurveyResponse(WebhookEvent):
        EVENT: ClassVar[str] = "survey_response"
        ENDPOINT_TYPE: ClassVar[str | None] = "Webhook::SurveyResponseEndpoint"

        process_id: str
        inquiry_id: str
        original_tenant_slug: str
        original_event_slug: str | None
        answers: dict[str, Any]
        completed_at: datetime

then emit it from the app's service (``emit(tenant=..., event=SurveyResponse(...))``), run
``makemigrations webhooks`` (the endpoint ``type`` choices grew) and list the event in
API.md. ``PROCESS_FIELD`` names the field that holds the process UUID (logged on the
interaction); ``CARRIES_ORIGINAL = False`` for events that never carry ``original_payload``.
Define the class in this module: the endpoint types are read from the registry when the
model and schema modules are imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from doxie.core.timefmt import isoformat_z

#: Event name -> class, in definition order (filled by ``WebhookEvent.__init_subclass__``).
EVENTS: dict[str, type[WebhookEvent]] = {}


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return isoformat_z(value)
    if isinstance(value, tuple):
        return [_json(item) for item in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping) and not isinstance(value, dict):
        return dict(value)
    return value


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookEvent:
    """Base of every notification; subclasses declare the class constants and the fields."""

    EVENT: ClassVar[str]
    #: The endpoint type that receives it; None: sent to one chosen endpoint (``ping``).
    ENDPOINT_TYPE: ClassVar[str | None]
    #: The field holding the process UUID, stored on the interaction (None: no process).
    PROCESS_FIELD: ClassVar[str | None] = "process_id"
    CARRIES_ORIGINAL: ClassVar[bool] = True
    #: (attribute, JSON key) of the payload fields, computed once per class.
    _KEYS: ClassVar[tuple[tuple[str, str], ...]]

    #: The process's ``original_payload`` (the caller's request body), already JSON.
    original_payload: Mapping[str, Any] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Not zero-argument super(): ``slots=True`` replaces the class that cell refers to.
        super(WebhookEvent, cls).__init_subclass__(**kwargs)
        # ``slots=True`` re-creates the class, so this runs twice per event: keep the last.
        name = cls.__dict__.get("EVENT")
        if name is None:
            raise TypeError(f"{cls.__name__} must define EVENT")
        known = EVENTS.get(name)
        if known is not None and (known.__module__, known.__name__) != (
            cls.__module__, cls.__name__
        ):
            raise TypeError(f"webhook event {name!r} is defined twice")
        EVENTS[name] = cls

    @classmethod
    def _keys(cls) -> tuple[tuple[str, str], ...]:
        keys = cls.__dict__.get("_KEYS")
        if keys is None:
            keys = tuple(
                (f.name, f.metadata.get("key", f.name))
                for f in fields(cls)
                if f.name != "original_payload"
            )
            cls._KEYS = keys
        return keys

    @property
    def process_id_value(self) -> str | None:
        """The process UUID to log on the interaction rows."""
        value = getattr(self, self.PROCESS_FIELD) if self.PROCESS_FIELD else None
        return str(value) if value is not None else None

    def data(self) -> dict[str, Any]:
        """The seed's flat body without ``original_payload``."""
        return {key: _json(getattr(self, name)) for name, key in self._keys()}

    def payload(self, *, include_original: bool) -> dict[str, Any]:
        """The body sent to an endpoint; ``original_payload`` (possibly null) when it asked."""
        return self.bodies()[1 if include_original else 0]

    def full_payload(self) -> dict[str, Any]:
        """Everything the event knows (the interaction's ``transaction_payload``)."""
        return self.bodies()[2]

    def bodies(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """(body without original, body with original, full payload), built once: what
        ``emit_many`` stores for the endpoints that did not and did ask for the original."""
        plain = self.data()
        if not self.CARRIES_ORIGINAL:
            return plain, plain, plain
        original = _json(self.original_payload)
        with_original = {**plain, "original_payload": original}
        return plain, with_original, with_original if original is not None else plain


# --- the seed's seven notifications ------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class MessageSent(WebhookEvent):
    """An email, SMS or RCS was handed to the provider."""

    EVENT: ClassVar[str] = "message_sent"
    ENDPOINT_TYPE: ClassVar[str | None] = "Webhook::MessageSentEndpoint"

    process_id: str
    message_type: str
    message_id: int
    recipient_specific_message_ids: tuple[str, ...]
    recipient: str
    subject: str | None
    text: str | None
    html: str | None
    original_brand_slug: str
    original_tenant_slug: str
    original_event_slug: str | None
    timestamp: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class MessageStatusUpdate(WebhookEvent):
    """The provider reported a status that moved the message forward."""

    EVENT: ClassVar[str] = "message_status_update"
    ENDPOINT_TYPE: ClassVar[str | None] = "Webhook::MessageStatusEndpoint"

    process_id: str
    message_type: str
    message_id: int
    recipient_specific_message_id: str | None
    recipient: str
    status: str
    timestamp: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkClicked(WebhookEvent):
    """A tracked link was opened (every ``GET``, not only the first)."""

    EVENT: ClassVar[str] = "link_clicked"
    ENDPOINT_TYPE: ClassVar[str | None] = "Webhook::LinkClickedEndpoint"

    process_id: str
    url: str
    #: The process's recipients who received the link, comma-separated.
    recipients: str
    original_tenant_slug: str
    original_event_slug: str | None
    timestamp: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class DoiConfirmation(WebhookEvent):
    """A contact confirmed a double opt-in; ``identifier`` is the consent's process UUID."""

    EVENT: ClassVar[str] = "doi_confirmation"
    ENDPOINT_TYPE: ClassVar[str | None] = "Webhook::DoiConfirmationEndpoint"
    PROCESS_FIELD: ClassVar[str | None] = "identifier"

    identifier: str | None
    timestamp: datetime
    ip_address: str | None = field(metadata={"key": "ipAddress"})


@dataclass(frozen=True, kw_only=True, slots=True)
class ProcessCancellation(WebhookEvent):
    """A process was cancelled (P7)."""

    EVENT: ClassVar[str] = "process_cancellation"
    ENDPOINT_TYPE: ClassVar[str | None] = "Webhook::ProcessCancellationEndpoint"
    PROCESS_FIELD: ClassVar[str | None] = "process_uuid"

    process_uuid: str
    cancellation_timestamp: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class QrCodeScanned(WebhookEvent):
    """A QR code URL was opened; ``status`` is ``active`` or ``expired``."""

    EVENT: ClassVar[str] = "qr_code_scanned"
    ENDPOINT_TYPE: ClassVar[str | None] = "Webhook::QrCodeScannedEndpoint"

    process_id: str
    target_url: str
    valid_until: datetime | None
    qr_code_uuid: str
    timestamp: datetime
    status: str


@dataclass(frozen=True, kw_only=True, slots=True)
class RcsResponse(WebhookEvent):
    """A recipient answered an RCS; the process is the latest RCS sent to that number."""

    EVENT: ClassVar[str] = "rcs_response"
    ENDPOINT_TYPE: ClassVar[str | None] = "Webhook::RcsResponseEndpoint"

    process_id: str
    message_id: int
    agent_id: str | None
    sender: str
    timestamp: datetime
    #: Exactly one of ``text``, ``suggestion_response``, ``user_file``, ``location``.
    message_content: Mapping[str, Any]


# --- ours ---------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class SurveyResponse(WebhookEvent):
    """A respondent finished a survey (the valid final POST of ``/s/{token}``); sent once
    per inquiry, because the inquiry is single-use and finishing it is one transaction."""

    EVENT: ClassVar[str] = "survey_response"
    ENDPOINT_TYPE: ClassVar[str | None] = "Webhook::SurveyResponseEndpoint"

    process_id: str
    inquiry_id: str
    original_tenant_slug: str
    original_event_slug: str | None
    answers: Mapping[str, Any]
    completed_at: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class Ping(WebhookEvent):
    """The "test" operation: sent to one endpoint, whatever its type (never through emit)."""

    EVENT: ClassVar[str] = "ping"
    ENDPOINT_TYPE: ClassVar[str | None] = None
    PROCESS_FIELD: ClassVar[str | None] = None
    CARRIES_ORIGINAL: ClassVar[bool] = False

    event: str = field(default="ping", init=False)
    endpoint_id: str
    endpoint_type: str
    original_tenant_slug: str
    timestamp: datetime


#: Every endpoint type, in the contract's order: the one list the model and schema derive from.
ENDPOINT_TYPES: tuple[str, ...] = tuple(
    cls.ENDPOINT_TYPE for cls in EVENTS.values() if cls.ENDPOINT_TYPE is not None
)
#: Endpoint type -> the event it receives.
EVENT_FOR_TYPE: dict[str, type[WebhookEvent]] = {
    cls.ENDPOINT_TYPE: cls for cls in EVENTS.values() if cls.ENDPOINT_TYPE is not None
}
