"""Reads for processes and events; the tenant is always the first argument."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from doxie.core.errors import NotFound
from doxie.processes.models import Event, Process
from doxie.processes.registry import registry

if TYPE_CHECKING:
    from doxie.tenants.models import Tenant


def get_event(tenant: Tenant, slug: str) -> Event:
    """The tenant's event with its brand, or 404 (another tenant's slug is just as unknown)."""
    event = Event.objects.for_tenant(tenant).select_related("brand").filter(slug=slug).first()
    if event is None:
        raise NotFound(f"Event '{slug}' not found")
    return event


def parse_process_uuid(raw: str) -> uuid.UUID:
    """A malformed UUID names no process: 404, like an unknown one."""
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise NotFound("Process not found") from None


def get_process(tenant: Tenant, process_uuid: str) -> Process:
    process = (
        Process.objects.for_tenant(tenant).filter(uuid=parse_process_uuid(process_uuid)).first()
    )
    if process is None:
        raise NotFound("Process not found")
    return process


def describe_process(tenant: Tenant, process_uuid: str) -> tuple[Process, dict[str, Any]]:
    """The process (with its event) and ``{describer key: what that app did}``: one query
    for the process plus each applicable describer's bounded few."""
    process = (
        Process.objects.for_tenant(tenant).select_related("event")
        .filter(uuid=parse_process_uuid(process_uuid)).first()
    )
    if process is None:
        raise NotFound("Process not found")
    details = {d.key: d.describe(process) for d in registry.describers_for(process.kind)}
    return process, details
