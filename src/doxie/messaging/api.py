"""Public API: the Mailer (P3). Thin: parse, call a service,
wrap the envelope."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Body, Header, Path, Router

from doxie.core.auth import API_USER
from doxie.core.errors import Invalid
from doxie.core.schemas import TenantSlug, public_responses
from doxie.messaging import services
from doxie.messaging.schemas import MailerOut

router = Router(tags=["Public API: messaging"])

EventSlug = Annotated[
    str, Path(description="The event slug", examples=["welcome_email"], max_length=100)
]
MAX_KEY_LENGTH = 255

_MAILER = (
    "Renders every email, SMS and RCS template of the event with the payload and queues one "
    "message per template and recipient; answers the seed's response with one result per "
    "template (`sent_rcs_templates` is our addition for RCS templates).\n\n"
    "* The payload is a free-form JSON object; its keys are the template variables. The "
    "event's required parameters must be present and not empty (422 with one `details` "
    "entry per missing parameter). Not an object: 422. Unknown event: 404. An event that is "
    "not a mailer event (injector, survey, QR): 422.\n"
    "* Templates render in a sandbox with strict variables: a variable the payload lacks, a "
    "template error or an invalid recipient fails only that template (`success: false` with "
    "`error_message`); the others are still sent. A recipient expression may yield several "
    "comma-separated addresses (one message each).\n"
    "* Recipients on the tenant's suppression list, or without the confirmed consent the "
    "event requires, are not sent; the template's `error_message` says why.\n"
    "* Links in HTML are rewritten for click tracking when the template tracks links; a text "
    "part is derived from the HTML when the template has none.\n"
    "* `Idempotency-Key` (optional, up to 255 characters): the same key with the same event "
    "and payload within 24 hours answers the first response again (header "
    "`Idempotent-Replayed: true`) and sends nothing; the same key with a different request "
    "is 409. Requests that failed (4xx) are not remembered.\n"
    "* Delivery is asynchronous: `message_sent` / `message_status_update` webhooks report "
    "each message by `message_id`."
)


@router.post(
    "/mailer/{key:event_slug}",
    auth=API_USER,
    response=public_responses({200: MailerOut}),
    summary="Sends a mail",
    description=_MAILER,
)
def send_mail(
    request: HttpRequest,
    response: HttpResponse,
    tenant: TenantSlug,
    event_slug: EventSlug,
    payload: Annotated[
        dict[str, Any],
        Body(
            description="The payload for the event; free to choose. The parameters should "
            "fit the configured event parameters.",
            examples=[{"email": "max@example.com", "first_name": "Max"}],
        ),
    ],
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="Makes retries of this request safe."),
    ] = None,
):
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_KEY_LENGTH:
        raise Invalid.one("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} characters")
    outcome = services.send_event(
        tenant=request.auth.tenant, event_slug=event_slug, payload=payload,
        idempotency_key=idempotency_key,
    )
    if outcome.replayed:
        response["Idempotent-Replayed"] = "true"
    return outcome.status, outcome.body
