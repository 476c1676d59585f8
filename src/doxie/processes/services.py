"""Process use cases: P7 (cancel a process).

P7 is orchestration: the process row is locked, the canceller its kind's app registered
(``processes.registry``) cancels what is still pending, and the ``process_cancellation``
webhook is queued, all in one transaction, so a 2xx means nothing pending will run and an
error leaves everything as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from doxie.core.errors import Conflict
from doxie.processes import selectors
from doxie.processes.models import Process, ProcessKind, ProcessStatus
from doxie.processes.registry import registry
from doxie.tenants.models import Tenant
from doxie.webhooks.events import ProcessCancellation
from doxie.webhooks.services import emit


def create_process(
    *, tenant: Tenant, kind: str = ProcessKind.MAILER, event: Any = None,
    original_payload: Any = None, status: str = ProcessStatus.ACTIVE,
    finished_at: datetime | None = None,
) -> Process:
    """A new process row in the caller's transaction (the Mailer, P1, later P4...)."""
    return Process.objects.create(
        tenant=tenant, kind=kind, event=event, original_payload=original_payload or {},
        status=status, finished_at=finished_at,
    )


def finish_process(*, process: Process, at: datetime) -> None:
    """Mark an active process finished (a survey answered): P7 then answers 409."""
    Process.objects.filter(pk=process.pk, status=ProcessStatus.ACTIVE).update(
        status=ProcessStatus.FINISHED, finished_at=at, updated_at=at
    )
    process.status, process.finished_at = ProcessStatus.FINISHED, at


@dataclass
class Cancellation:
    process: Process
    counts: dict[str, int] = field(default_factory=dict)


@transaction.atomic
def cancel_process(*, tenant: Tenant, process_uuid: str) -> Cancellation:
    """P7: the kind's canceller cancels what is pending (it raises ``Conflict`` when nothing
    is), the process is marked cancelled and ``process_cancellation`` is queued. A message a
    drainer has already claimed is re-checked under lock before it is handed to the provider,
    so it is not sent either."""
    found = selectors.get_process(tenant, process_uuid)
    process = Process.objects.select_for_update().get(pk=found.pk)
    if process.status == ProcessStatus.CANCELLED:
        raise Conflict("The process is already cancelled")
    if process.status == ProcessStatus.FINISHED:
        raise Conflict("The process is already finished; nothing is left to cancel")
    now = timezone.now()
    counts = dict(registry.canceller(process.kind)(process=process, at=now))
    process.status = ProcessStatus.CANCELLED
    process.cancelled_at = now
    process.save(update_fields=["status", "cancelled_at", "updated_at"])
    emit(tenant=tenant, event=ProcessCancellation(
        process_uuid=str(process.uuid), cancellation_timestamp=now,
        original_payload=process.original_payload,
    ))
    return Cancellation(process, counts)


def finish_processes(*, process_ids: list[int], at: datetime) -> int:
    """Mark active processes finished (a journey run that ended); one UPDATE."""
    return Process.objects.filter(id__in=process_ids, status=ProcessStatus.ACTIVE).update(
        status=ProcessStatus.FINISHED, finished_at=at, updated_at=at)
