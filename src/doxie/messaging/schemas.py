"""Schemas of the Mailer (P3) for the served OpenAPI document."""

from __future__ import annotations

from ninja import Schema
from pydantic import ConfigDict, Field

PROCESS_UUID_EXAMPLE = "9a5d8c73-fcb4-4a8a-9fd2-fbabb3c99838"


class SentTemplate(Schema):
    """One template's outcome. ``message_id`` is the id of its (first) message, the same id
    the ``message_sent`` and ``message_status_update`` webhooks carry as ``message_id``."""

    template_name: str = Field(examples=["Willkommensmail"])
    success: bool = Field(
        description="True when at least one message of the template was queued for delivery."
    )
    message_id: int | None = Field(
        examples=[1234],
        description="Id of the template's first queued message (of its first stored "
        "message when none could be queued; null when rendering failed). A recipient "
        "expression that yields several addresses creates one message per address; each "
        "message is reported separately by the webhooks.",
    )
    error_message: str | None = Field(
        examples=[None],
        description="Why the template or some of its recipients were not sent: a render "
        "error, an invalid recipient, the suppression list or a missing consent.",
    )


class MailerOut(Schema):
    """The seed's Mailer response, plus ``sent_rcs_templates`` for RCS templates."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "success": True,
                "error_message": None,
                "process_uuid": PROCESS_UUID_EXAMPLE,
                "sent_email_templates": [
                    {"template_name": "Willkommensmail", "success": True, "message_id": 1234,
                     "error_message": None}
                ],
                "sent_sms_templates": [
                    {"template_name": "Willkommenssms", "success": True, "message_id": 1235,
                     "error_message": None}
                ],
                "sent_rcs_templates": [],
            }
        }
    )

    success: bool = Field(
        description="False only when the event has templates and none of them could be sent."
    )
    error_message: str | None = None
    process_uuid: str = Field(examples=[PROCESS_UUID_EXAMPLE])
    sent_email_templates: list[SentTemplate]
    sent_sms_templates: list[SentTemplate]
    sent_rcs_templates: list[SentTemplate] = Field(
        default_factory=list,
        description="RCS templates of the event (not in the original contract; empty when "
        "the event has none).",
    )
