"""Schemas of P7 (cancel a process) and the process view, for the served OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field

from doxie.core.schemas import admin_envelope, public_envelope

PROCESS_UUID_EXAMPLE = "9a5d8c73-fcb4-4a8a-9fd2-fbabb3c99838"


class CancelOut(Schema):
    process_uuid: str = Field(examples=[PROCESS_UUID_EXAMPLE])
    status: str = Field(examples=["cancelled"])
    cancelled_messages: int = Field(
        examples=[2], description="Queued messages that will now never be sent."
    )


CancelEnvelope = public_envelope(CancelOut, "ProcessCancelEnvelope")

_VIEW_EXAMPLE = {
    "uuid": PROCESS_UUID_EXAMPLE,
    "kind": "mailer",
    "status": "finished",
    "event_slug": "welcome_email",
    "created_at": "2026-11-30T09:15:02.123Z",
    "updated_at": "2026-11-30T09:15:04.481Z",
    "cancelled_at": None,
    "finished_at": "2026-11-30T09:15:04.481Z",
    "details": {
        "messages": [
            {
                "message_id": 1234,
                "channel": "email",
                "template_name": "Willkommensmail",
                "recipient": "m***@example.com",
                "status": "delivered",
                "status_reason": "",
                "provider": "mailjet",
                "created_at": "2026-11-30T09:15:02.123Z",
                "sent_at": "2026-11-30T09:15:03.002Z",
                "status_history": [
                    {"status": "queued", "occurred_at": "2026-11-30T09:15:02.123Z",
                     "source": "doxie"},
                    {"status": "sent", "occurred_at": "2026-11-30T09:15:03.002Z",
                     "source": "doxie"},
                    {"status": "delivered", "occurred_at": "2026-11-30T09:15:09Z",
                     "source": "mailjet"},
                ],
            }
        ],
        "consents": [],
    },
}


class ProcessViewOut(Schema):
    """A process and what every installed app did for it."""

    model_config = ConfigDict(json_schema_extra={"example": _VIEW_EXAMPLE})

    uuid: str = Field(examples=[PROCESS_UUID_EXAMPLE])
    kind: str = Field(examples=["mailer"], description="mailer, consent, ...")
    status: str = Field(examples=["finished"], description="active, finished or cancelled")
    event_slug: str | None = Field(
        examples=["welcome_email"], description="The event that started it (null for a "
        "consent process or when the event was deleted since)."
    )
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    finished_at: datetime | None
    details: dict[str, Any] = Field(
        description="One entry per app that records work for processes of this kind: "
        "`messages` (messaging: every message with channel, template, masked recipient, "
        "status and its status history, oldest first) and `consents` (consents: every "
        "consent step — requested, message sent, confirmed, revoked, expired — oldest "
        "first). Later apps add their own keys (journey steps, inquiries, QR scans)."
    )


ProcessViewEnvelope = admin_envelope(ProcessViewOut, "ProcessViewEnvelope")
