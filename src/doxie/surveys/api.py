"""Survey endpoints: P5 on the public API; responses and the summary on the admin API."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Body, Path, Query, Router

from doxie.core.auth import ADMIN_READ, API_USER
from doxie.core.envelopes import admin_ok
from doxie.core.pagination import PageParams, paginate
from doxie.core.schemas import TenantSlug, admin_responses, public_responses
from doxie.surveys import selectors, services
from doxie.surveys.schemas import InquiryOut, ResponseListEnvelope, SummaryEnvelope

router = Router(tags=["Public API: surveys"])
admin_router = Router(tags=["Admin: surveys"])

EventSlug = Annotated[str, Path(description="The survey event's slug", max_length=100)]


@router.post(
    "/surveys/{key:event_slug}/inquiries",
    auth=API_USER,
    response=public_responses({200: InquiryOut}),
    summary="Invite to a survey",
    description=(
        "Creates a process (kind `survey`) and a single-use survey link, and sends the "
        "event's email/SMS templates with `{{ survey_url }}` (suppression list and required "
        "consent apply). `email` and/or `phone` (E.164) is required; the event's required "
        "parameters too (422). The link is never returned, logged or sent in webhooks; the "
        "answers arrive as the `survey_response` webhook. Cancel with P7 (the link then "
        "answers 410)."
    ),
)
def invite(
    request: HttpRequest, tenant: TenantSlug, event_slug: EventSlug,
    payload: Annotated[dict[str, Any], Body(
        description="`email` and/or `phone` (E.164); every other key is free payload: "
        "template variables and the event's parameters.",
        examples=[{"email": "max@example.com", "phone": "+491771234567", "first_name": "Max"}],
    )],
):
    result = services.invite(tenant=request.auth.tenant, event_slug=event_slug,
                             payload=payload)
    return {"success": True, "error_message": None,
            "process_uuid": str(result.process.uuid), "data": None}


@admin_router.get(
    "/surveys/{key:event_slug}/responses",
    auth=ADMIN_READ,
    response=admin_responses({200: ResponseListEnvelope}),
    summary="List survey responses",
    description="(Beyond the seed.) Finished responses, newest first, paginated.",
)
def list_responses(request: HttpRequest, tenant: TenantSlug, event_slug: EventSlug,
                   params: Query[PageParams]):
    survey = selectors.get_survey(request.auth.tenant, event_slug)
    items, pagination = paginate(selectors.responses(survey), params)
    return admin_ok({"responses": [
        {"inquiry_id": str(r.inquiry.uuid), "process_uuid": str(r.inquiry.process.uuid),
         "answers": r.answers, "completed_at": r.completed_at}
        for r in items
    ], "pagination": pagination})


@admin_router.get(
    "/surveys/{key:event_slug}/summary",
    auth=ADMIN_READ,
    response=admin_responses({200: SummaryEnvelope}),
    summary="Survey summary",
    description=(
        "(Beyond the seed.) Per question: answers, counts per choice, the mean of ratings "
        "(and the NPS of a 0–10 rating), the mean place of ranking choices. Read from "
        "counters kept when responses are stored, so its cost does not grow with them."
    ),
)
def summary(request: HttpRequest, tenant: TenantSlug, event_slug: EventSlug):
    survey = selectors.get_survey(request.auth.tenant, event_slug)
    return admin_ok(selectors.summary(survey))
