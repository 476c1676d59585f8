"""P4 (inject a contact into a journey) and the journey statistics. Thin: parse, call a
service or selector, wrap the envelope."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Body, Path, Router

from doxie.core.auth import ADMIN_READ, API_USER
from doxie.core.envelopes import admin_ok, public_ok
from doxie.core.schemas import TenantSlug, admin_responses, public_responses
from doxie.journeys import selectors, services
from doxie.journeys.schemas import InjectorOut, JourneyStatsEnvelope

router = Router(tags=["Public API: journeys"])
admin_router = Router(tags=["Admin: journeys"])

EventSlug = Annotated[
    str, Path(description="The injector event's slug", examples=["onboarding"], max_length=100)
]


@router.post(
    "/injector/{key:event_slug}",
    auth=API_USER,
    response=public_responses({200: InjectorOut}),
    summary="Create injection for an embedded journey",
    description="Starts the event's journey for the contact in the payload: a process (kind "
    "`injector`) and a run that walks the journey's steps (sends of the event's templates, "
    "waits, send windows, waits for what the contact did). The event's required parameters "
    "must be present (422). Unknown event: 404; not an injector event, or no journey: 422. "
    "A re-entry the journey's rule refuses (`once`, `cooldown`): 409 naming the rule. P7 "
    "cancels the run.",
)
def inject(
    request: HttpRequest, tenant: TenantSlug, event_slug: EventSlug,
    payload: Annotated[dict[str, Any], Body(
        description="The contact's data; the journey's templates, conditions and key use it.",
        examples=[{"email": "max@example.com", "plan": "pro"}])],
):
    done = services.inject(tenant=request.auth.tenant, event_slug=event_slug, payload=payload)
    return public_ok(None, process_uuid=str(done.process.uuid))


@admin_router.get(
    "/journeys/{key:event_slug}",
    auth=ADMIN_READ,
    response=admin_responses({200: JourneyStatsEnvelope}),
    summary="Show a journey with its runs per step",
    description="(Beyond the seed.) The injector event's current definition version as a "
    "step tree, how many active runs wait in each step, and the run counts (active, "
    "finished, exited, cancelled). Unknown event, another tenant's, or an event without a "
    "journey: 404. Requires read permission.",
)
def journey_stats(request: HttpRequest, tenant: TenantSlug, event_slug: EventSlug):
    event = services.get_injector_event(request.auth.tenant, event_slug)
    return admin_ok(selectors.journey_stats(event))
