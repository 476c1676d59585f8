"""The ``journey:`` part of an injector event in ``doxie apply_config``.

Registered as the sub-section ``events.journey`` (runs after ``events``, whenever the
document has an ``events`` key). ``validate`` compiles every journey against the templates
the same event item declares, so unknown templates, unreachable steps, invalid durations
and expressions stop the whole file before anything is written; ``apply`` publishes a new
version for each journey whose definition changed (runs in flight keep theirs).
"""

from __future__ import annotations

from typing import Any

from doxie.journeys import definition as d
from doxie.journeys import services
from doxie.processes.models import Event, EventKind
from doxie.tenants.models import Tenant

SECTION = "events.journey"


def _items(document: Any) -> list[tuple[int, dict[str, Any]]]:
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, list):
        return []
    return [(i, item) for i, item in enumerate(events)
            if isinstance(item, dict) and "journey" in item]


def _templates(item: dict[str, Any]) -> d.Templates:
    def names(key: str) -> set[str]:
        return {t["name"] for t in item.get(key) or []
                if isinstance(t, dict) and isinstance(t.get("name"), str)}

    return d.Templates(email=names("email_templates"),
                       other=names("sms_templates") | names("rcs_templates"))


def _where(index: int, item: dict[str, Any]) -> str:
    slug = item.get("slug")
    return f"events[{index}]" + (f" ({slug})" if isinstance(slug, str) else "") + ".journey"


def validate(tenant: Tenant, document: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for index, item in _items(document):
        where = _where(index, item)
        if item.get("kind", EventKind.MAILER) != EventKind.INJECTOR:
            problems.append(f"{where}: only events with kind: injector have a journey")
            continue
        _, found = d.compile_journey(item["journey"], _templates(item), where)
        problems += found
    return problems


def apply(tenant: Tenant, document: dict[str, Any], *, dry_run: bool) -> list[str]:
    changes = []
    for index, item in _items(document):
        compiled, problems = d.compile_journey(item["journey"], _templates(item),
                                               _where(index, item))
        if compiled is None:  # validate ran first; defensive
            raise ValueError("; ".join(problems))
        event = Event.objects.for_tenant(tenant).get(slug=item["slug"])
        version, created = services.publish_version(tenant=tenant, event=event,
                                                    compiled=compiled)
        state = f"version {version.number}" if created else "unchanged"
        changes.append(f"journey {event.slug}: {state}")
    return changes
