"""Survey reads: the link's inquiry, the process view's describer, responses, the summary."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from doxie.core.errors import NotFound
from doxie.processes import selectors as process_selectors
from doxie.surveys import definition as d
from doxie.surveys.models import AnswerCount, Inquiry, Survey, SurveyResponse
from doxie.tenants.models import Tenant


def inquiry_for_token(token: str) -> Inquiry | None:
    """The inquiry a link opens (the invitation's or the reminder's), with what the page
    shows; one query."""
    from doxie.surveys.services import hash_token

    if not token or len(token) > 100:
        return None
    digest = hash_token(token)
    return (
        Inquiry.objects.select_related("survey__event__brand__style", "tenant")
        .filter(Q(token_hash=digest) | Q(reminder_token_hash=digest)).first()
    )


def get_survey(tenant: Tenant, event_slug: str) -> Survey:
    event = process_selectors.get_event(tenant, event_slug)
    survey = Survey.objects.filter(tenant=tenant, event=event).first()
    if survey is None:
        raise NotFound(f"Survey '{event_slug}' not found")
    return survey


def responses(survey: Survey) -> QuerySet[SurveyResponse]:
    return (SurveyResponse.objects.filter(survey=survey)
            .select_related("inquiry__process").order_by("-completed_at", "-id"))


def summary(survey: Survey) -> dict[str, Any]:
    """Per question from the counters: answers, counts per choice, mean (and NPS for a
    0-10 rating), mean place per ranking choice. Two queries whatever the volume."""
    counts: dict[str, dict[str, int]] = {}
    for question, option, count in AnswerCount.objects.filter(survey=survey).values_list(
        "question", "option", "count"
    ):
        counts.setdefault(question, {})[option] = count
    definition = d.load(survey.definition)
    out = []
    for question in definition.questions():
        seen = counts.get(question.name, {})
        item: dict[str, Any] = {"name": question.name, "type": question.type,
                                "title": question.label, "answered": seen.get("", 0)}
        if isinstance(question, d.Radiogroup | d.Dropdown | d.Checkbox):
            item["counts"] = {v: seen.get(v, 0) for v, _ in d.choice_pairs(question.choices)}
        elif isinstance(question, d.Boolean):
            item["counts"] = {"true": seen.get("true", 0), "false": seen.get("false", 0)}
        elif isinstance(question, d.Rating):
            values = {r: seen.get(str(r), 0) for r in range(question.rateMin, question.rateMax + 1)}
            total = sum(values.values())
            item["counts"] = {str(k): v for k, v in values.items()}
            weighted = sum(k * v for k, v in values.items())
            item["mean"] = round(weighted / total, 2) if total else None
            if question.is_nps:
                promoters = values[9] + values[10]
                detractors = sum(values[r] for r in range(0, 7))
                item["nps"] = round((promoters - detractors) * 100 / total, 1) if total else None
        elif isinstance(question, d.Matrix):
            item["counts"] = {
                row: {col: seen.get(f"{row}={col}", 0)
                      for col, _ in d.choice_pairs(question.columns)}
                for row, _ in d.choice_pairs(question.rows)
            }
        elif isinstance(question, d.Ranking):
            choices = [v for v, _ in d.choice_pairs(question.choices)]
            item["mean_place"] = {
                choice: (round(sum(p * seen.get(f"{choice}@{p}", 0)
                                   for p in range(1, len(choices) + 1)) / item["answered"], 2)
                         if item["answered"] else None)
                for choice in choices
            }
        out.append(item)
    return {"responses": counts.get("", {}).get("", 0), "questions": out}


def describe_process_survey(process: Any) -> list[dict[str, Any]]:
    """The process view's ``survey``: each inquiry's state and answers (one query)."""
    return [
        {
            "inquiry_id": str(i.uuid), "state": i.state, "expires_at": i.expires_at,
            "opened_at": i.opened_at, "finished_at": i.finished_at,
            "cancelled_at": i.cancelled_at, "reminded_at": i.reminded_at,
            "page": i.page, "answers": i.answers,
        }
        for i in Inquiry.objects.filter(process=process).order_by("id")
    ]
