"""P7 (cancel a process) on the public API and the process view on the admin API. Thin:
parse, call a service or selector, wrap the envelope."""

from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja import Path, Router

from doxie.core.auth import ADMIN_READ, API_USER
from doxie.core.envelopes import admin_ok, public_ok
from doxie.core.schemas import TenantSlug, admin_responses, public_responses
from doxie.processes import selectors, services
from doxie.processes.schemas import CancelEnvelope, ProcessViewEnvelope

router = Router(tags=["Public API: messaging"])
admin_router = Router(tags=["Admin: processes"])

ProcessUuid = Annotated[
    str, Path(description="The process UUID (from the Mailer, consent or injector response)",
              examples=["9a5d8c73-fcb4-4a8a-9fd2-fbabb3c99838"])
]


@router.post(
    "/processes/{uid:process_uuid}/cancel",
    auth=API_USER,
    response=public_responses({200: CancelEnvelope}),
    summary="Cancel a process",
    description="Cancels everything still pending in the process: queued messages are "
    "never sent (a batch already being handed to the provider is reported as sent), later "
    "journey steps and open inquiries end, and the `process_cancellation` webhook fires. "
    "A process that already finished, or was cancelled before: 409. An unknown process, a "
    "malformed UUID or another tenant's process: 404.",
)
def cancel_process(request: HttpRequest, tenant: TenantSlug, process_uuid: ProcessUuid):
    done = services.cancel_process(tenant=request.auth.tenant, process_uuid=process_uuid)
    uuid = str(done.process.uuid)
    data = {"process_uuid": uuid, "status": done.process.status,
            "cancelled_messages": done.counts.get("messages", 0)}
    return public_ok(data, process_uuid=uuid)


@admin_router.get(
    "/processes/{uid:process_uuid}",
    auth=ADMIN_READ,
    response=admin_responses({200: ProcessViewEnvelope}),
    summary="Show a process and what every app did for it",
    description="(Beyond the seed.) What an integrator opens when a customer asks \"what "
    "happened to my message?\": the process (kind, status, event, timestamps) and, in "
    "`details`, what each app did for it: its messages with their status history, its "
    "consent steps. Recipients are masked. An unknown process, a malformed UUID or another "
    "tenant's process: 404. Requires read permission.",
)
def process_view(request: HttpRequest, tenant: TenantSlug, process_uuid: ProcessUuid):
    process, details = selectors.describe_process(request.auth.tenant, process_uuid)
    return admin_ok({
        "uuid": str(process.uuid), "kind": process.kind, "status": process.status,
        "event_slug": process.event.slug if process.event else None,
        "created_at": process.created_at, "updated_at": process.updated_at,
        "cancelled_at": process.cancelled_at, "finished_at": process.finished_at,
        "details": details,
    })
