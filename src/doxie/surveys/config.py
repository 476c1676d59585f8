"""The surveys' part of ``apply_config``: the ``survey:`` key of each ``kind: survey`` event.

The events themselves (slug, brand, parameters, templates) are the ``events`` section's
(messaging); this section runs after it and makes each survey event's ``Survey`` row match
its ``survey:`` definition. It is registered under the top-level key ``surveys`` (which
needs no content of its own) because the definitions live inside ``events``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from doxie.processes.models import Event, EventKind
from doxie.surveys import definition as d
from doxie.surveys.models import Survey
from doxie.tenants.models import Tenant

SECTION = "surveys"


def _survey_events(document: Any) -> list[tuple[int, dict[str, Any]]]:
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, list):
        return []
    return [(i, e) for i, e in enumerate(events) if isinstance(e, dict)]


def validate(tenant: Tenant, document: Any) -> list[str]:
    problems = []
    if isinstance(document, dict) and document.get(SECTION) not in (None, {}, []):
        problems.append(f"{SECTION}: survey definitions go under 'survey:' of a survey event")
    for index, event in _survey_events(document):
        slug = event.get("slug")
        where = f"events[{index}]" + (f" ({slug})" if isinstance(slug, str) else "")
        kind, raw = event.get("kind", EventKind.MAILER), event.get("survey")
        if kind == EventKind.SURVEY and raw is None:
            problems.append(f"{where}: a survey event needs 'survey' (its definition)")
        elif kind != EventKind.SURVEY and raw is not None:
            problems.append(f"{where}.survey: only events of kind 'survey' have a survey")
        elif raw is not None:
            problems += d.problems(raw, f"{where}.survey")
    return problems


def apply(tenant: Tenant, document: Any, *, dry_run: bool) -> list[str]:
    changes = []
    with transaction.atomic():
        for _index, item in _survey_events(document):
            if item.get("kind") != EventKind.SURVEY:
                continue
            section = d.SurveySection.model_validate(item["survey"])
            values = {"definition": section.definition(),
                      "valid_for_days": section.valid_for_days,
                      "reminder_after_days": section.reminder_after_days}
            slug = item["slug"]
            event = Event.objects.filter(tenant=tenant, slug=slug).first()
            survey = Survey.objects.filter(event=event).first() if event else None
            if survey is None:
                changes.append(f"event '{slug}': survey created")
                if not dry_run and event is not None:
                    Survey.objects.create(tenant=tenant, event=event, **values)
                continue
            changed = sorted(k for k, v in values.items() if getattr(survey, k) != v)
            if changed:
                changes.append(f"event '{slug}': survey updated ({', '.join(changed)})")
                if not dry_run:
                    for key, value in values.items():
                        setattr(survey, key, value)
                    survey.save()
    return changes
