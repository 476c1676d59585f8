"""Answers: read from the survey form, checked against the definition, counted.

The page works without JavaScript, so every question type maps to plain form controls:
a ranking is one select of places per choice, a matrix one radio group per row. Field
names are ``q_<name>`` (``q_<name>__<index>`` for ranking and matrix) so they cannot clash
with ``csrfmiddlewaretoken``, ``page`` or ``action``. Values are stored as SurveyJS stores
them: text as strings (numbers as numbers), a checkbox as a list, a boolean as true/false,
a ranking as the ordered list of choice values, a matrix as ``{row: column}``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from doxie.surveys import definition as d

_TEL = re.compile(r"^\+?[0-9][0-9 ()/.-]{2,24}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$")
MAX_TEXT = 10_000


class Form:
    """What the browser sent (a ``QueryDict``-like: ``get`` and ``getlist``)."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def one(self, key: str) -> str:
        value = self.data.get(key, "")
        return value.strip() if isinstance(value, str) else ""

    def many(self, key: str) -> list[str]:
        return [v for v in self.data.getlist(key) if isinstance(v, str)]


def field(name: str, index: int | None = None) -> str:
    return f"q_{name}" if index is None else f"q_{name}__{index}"


def _number(raw: str) -> int | float:
    value = float(raw.replace(",", "."))
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError
    return int(value) if value.is_integer() and "." not in raw and "," not in raw else value


def _text_value(question: d.Text, raw: str) -> tuple[Any, str | None]:
    limit = question.maxLength or 1000
    if len(raw) > limit:
        return None, f"Bitte höchstens {limit} Zeichen."
    kind = question.inputType
    try:
        if kind == "number":
            return _number(raw), None
        if kind == "date":
            return dt.date.fromisoformat(raw).isoformat(), None
    except ValueError:
        return None, ("Bitte eine Zahl eingeben." if kind == "number"
                      else "Bitte ein Datum eingeben (JJJJ-MM-TT).")
    if kind == "email" and not _EMAIL.match(raw):
        return None, "Bitte eine gültige E-Mail-Adresse eingeben."
    if kind == "tel" and not _TEL.match(raw):
        return None, "Bitte eine gültige Telefonnummer eingeben."
    if kind == "url":
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return None, "Bitte eine Adresse beginnend mit https:// eingeben."
    return raw, None


def read(question: d.Question, form: Form) -> tuple[Any, str | None]:
    """(value or None when unanswered, error message or None) for one visible question."""
    if isinstance(question, d.Text | d.Comment):
        raw = form.one(field(question.name))
        if not raw:
            return None, None
        if isinstance(question, d.Comment):
            limit = question.maxLength or MAX_TEXT
            return (None, f"Bitte höchstens {limit} Zeichen.") if len(raw) > limit else (raw, None)
        return _text_value(question, raw)
    if isinstance(question, d.Radiogroup | d.Dropdown):
        raw = form.one(field(question.name))
        if not raw:
            return None, None
        values = dict(d.choice_pairs(question.choices))
        return (raw, None) if raw in values else (None, "Bitte eine der Antworten wählen.")
    if isinstance(question, d.Checkbox):
        picked = list(dict.fromkeys(v.strip() for v in form.many(field(question.name))))
        picked = [v for v in picked if v]
        if not picked:
            return None, None
        allowed = [v for v, _ in d.choice_pairs(question.choices)]
        if any(v not in allowed for v in picked):
            return None, "Bitte nur angebotene Antworten wählen."
        return [v for v in allowed if v in picked], None
    if isinstance(question, d.Boolean):
        raw = form.one(field(question.name))
        if not raw:
            return None, None
        if raw not in ("true", "false"):
            return None, "Bitte Ja oder Nein wählen."
        return raw == "true", None
    if isinstance(question, d.Rating):
        raw = form.one(field(question.name))
        if not raw:
            return None, None
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or not question.rateMin <= value <= question.rateMax:
            return None, f"Bitte einen Wert von {question.rateMin} bis {question.rateMax} wählen."
        return value, None
    if isinstance(question, d.Ranking):
        return _ranking(question, form)
    if isinstance(question, d.Matrix):
        return _matrix(question, form)
    raise TypeError(type(question))  # the union is closed


def _ranking(question: d.Ranking, form: Form) -> tuple[Any, str | None]:
    choices = [v for v, _ in d.choice_pairs(question.choices)]
    places = [form.one(field(question.name, i)) for i in range(len(choices))]
    if not any(places):
        return None, None
    try:
        numbers = [int(p) for p in places]
    except ValueError:
        return None, "Bitte jeder Antwort einen Platz geben."
    if sorted(numbers) != list(range(1, len(choices) + 1)):
        return None, "Bitte jeden Platz genau einmal vergeben."
    return [choice for _, choice in sorted(zip(numbers, choices, strict=True))], None


def _matrix(question: d.Matrix, form: Form) -> tuple[Any, str | None]:
    rows = d.choice_pairs(question.rows)
    columns = {v for v, _ in d.choice_pairs(question.columns)}
    value: dict[str, str] = {}
    for i, (row, _label) in enumerate(rows):
        raw = form.one(field(question.name, i))
        if raw:
            if raw not in columns:
                return None, "Bitte nur angebotene Antworten wählen."
            value[row] = raw
    if not value:
        return None, None
    if question.isRequired and len(value) < len(rows):
        return None, "Bitte in jeder Zeile eine Antwort wählen."
    return value, None


def read_page(
    survey: d.SurveyDefinition, index: int, form: Form, earlier: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The page's answers and errors ({name: message}). Visibility is evaluated on the
    earlier answers plus this page's, so a follow-up question shown because of an answer on
    the same page is validated (and one hidden by it is dropped)."""
    page = survey.pages[index]
    questions = [e for e in page.elements if not isinstance(e, d.Html)]
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for question in questions:
        value, error = read(question, form)
        if error:
            errors[question.name] = error
        elif value is not None:
            values[question.name] = value
    seen = {**earlier, **values}
    for question in questions:
        if not d.visible(question, seen):
            values.pop(question.name, None)
            errors.pop(question.name, None)
        elif question.isRequired and question.name not in values and question.name not in errors:
            errors[question.name] = "Bitte beantworten Sie diese Frage."
    return values, errors


def merge(stored: Mapping[str, Any], survey: d.SurveyDefinition, index: int,
          values: Mapping[str, Any]) -> dict[str, Any]:
    """Stored answers with page ``index`` replaced by ``values``."""
    names = {e.name for e in survey.pages[index].elements}
    merged = {k: v for k, v in stored.items() if k not in names}
    merged.update(values)
    return merged


def final(
    survey: d.SurveyDefinition, answers: Mapping[str, Any]
) -> tuple[dict[str, Any], int | None]:
    """The answers to store (hidden questions dropped) and the first page with a visible
    required question left unanswered (None: complete)."""
    kept = {}
    missing_page = None
    for index, page in enumerate(survey.pages):
        for element in page.elements:
            if isinstance(element, d.Html) or not d.visible(element, answers):
                continue
            if element.name in answers:
                kept[element.name] = answers[element.name]
            elif element.isRequired and missing_page is None:
                missing_page = index
    return kept, missing_page


def counters(survey: d.SurveyDefinition, answers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (question, option) counters one response increments (see ``AnswerCount``)."""
    rows = [("", "")]
    for question in survey.questions():
        if question.name not in answers:
            continue
        value = answers[question.name]
        rows.append((question.name, ""))
        if isinstance(question, d.Radiogroup | d.Dropdown | d.Rating | d.Boolean):
            rows.append((question.name, d.as_text(value)))
        elif isinstance(question, d.Checkbox):
            rows += [(question.name, v) for v in value]
        elif isinstance(question, d.Matrix):
            rows += [(question.name, f"{row}={column}") for row, column in value.items()]
        elif isinstance(question, d.Ranking):
            rows += [(question.name, f"{choice}@{place}")
                     for place, choice in enumerate(value, start=1)]
    return [(q[:100], o[:300]) for q, o in rows]
