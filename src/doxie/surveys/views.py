"""The public survey page ``/s/<token>``: server-rendered, works without JavaScript.

GET only shows (link scanners open links); the first GET records ``opened``. Each page is a
plain form POSTed with its page index and the button pressed (``next``/``back``/``submit``),
CSRF-checked like the DOI page; errors re-show the page with the answers as typed. The
brand style, CSP and security headers are the DOI page's (``consents.views``), so every
public page looks and is protected the same way.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from doxie.consents.rendering import sanitize_html
from doxie.consents.views import brand_style, csrf_failed, page_csp, secure_headers
from doxie.surveys import definition as d
from doxie.surveys import selectors, services
from doxie.surveys.answers import field
from doxie.surveys.models import Inquiry

log = logging.getLogger("doxie.surveys")

_STATES = {
    services.PageState.FINISHED: (409, "Bereits beantwortet",
                                  "Diese Umfrage wurde bereits beantwortet. Vielen Dank!"),
    services.PageState.EXPIRED: (410, "Link abgelaufen",
                                 "Dieser Umfrage-Link ist nicht mehr gültig."),
    services.PageState.CANCELLED: (410, "Umfrage beendet",
                                   "Diese Umfrage ist nicht mehr verfügbar."),
    services.PageState.UNKNOWN: (404, "Link unbekannt",
                                 "Diesen Umfrage-Link gibt es nicht. "
                                 "Bitte prüfen Sie die Adresse."),
    "forbidden": (403, "Sitzung abgelaufen",
                  "Bitte öffnen Sie den Link erneut und senden Sie die Seite noch einmal."),
    "method": (405, "Nicht erlaubt", "Diese Seite kann nur geöffnet oder abgesendet werden."),
    "error": (503, "Vorübergehend nicht verfügbar", "Bitte versuchen Sie es gleich noch einmal."),
}


def _render(request: HttpRequest, template: str, status: int, inquiry: Inquiry | None,
            **context: Any) -> HttpResponse:
    nonce = secrets.token_urlsafe(16)
    brand = inquiry.survey.event.brand if inquiry is not None else None
    style = brand_style(brand)
    response = render(request, template, {
        "nonce": nonce, "style": style, "brand_name": brand.name if brand else "", **context,
    }, status=status)
    secure_headers(response, page_csp(nonce, [], style["font_url"]))
    return response


def _state_page(request: HttpRequest, state: str, inquiry: Inquiry | None) -> HttpResponse:
    status, headline, body = _STATES[state]
    return _render(request, "consents/message.html", status, inquiry,
                   headline=headline, body=body)


@csrf_exempt  # checked explicitly in csrf_failed, with a friendly failure page
def survey(request: HttpRequest, token: str) -> HttpResponse:
    try:
        if request.method in ("GET", "HEAD"):
            return _show(request, token)
        if request.method == "POST":
            return _post(request, token)
    except DatabaseError:
        log.warning("survey page unavailable: database error", exc_info=True)
        return _state_page(request, "error", None)
    response = _state_page(request, "method", None)
    response["Allow"] = "GET, HEAD, POST"
    return response


def _show(request: HttpRequest, token: str) -> HttpResponse:
    inquiry = selectors.inquiry_for_token(token)
    state = services.state_of(inquiry)
    if state != services.PageState.READY:
        return _state_page(request, state, inquiry)
    assert inquiry is not None
    if request.method == "GET":
        services.mark_opened(inquiry)
    survey = d.load(inquiry.survey.definition)
    page = min(inquiry.page, len(survey.pages) - 1)
    return _page(request, inquiry, survey, page, {}, None)


def _post(request: HttpRequest, token: str) -> HttpResponse:
    if csrf_failed(request):
        return _state_page(request, "forbidden", selectors.inquiry_for_token(token))
    try:
        page = int(request.POST.get("page", "0"))
    except ValueError:
        page = 0
    action = request.POST.get("action", "next")
    outcome = services.submit(token=token, page=page, action=action, form=request.POST)
    inquiry = outcome.inquiry
    if outcome.state == services.PageState.COMPLETED and inquiry is not None:
        survey = d.load(inquiry.survey.definition)
        return _render(request, "consents/message.html", 200, inquiry,
                       headline="Vielen Dank!", body="Ihre Antworten wurden gespeichert.",
                       custom_html=sanitize_html(survey.completedHtml or ""))
    if outcome.state != services.PageState.READY:
        return _state_page(request, outcome.state, inquiry)
    assert inquiry is not None
    survey = d.load(inquiry.survey.definition)
    status = 422 if outcome.errors else 200
    return _page(request, inquiry, survey, outcome.page, outcome.errors or {}, outcome.form,
                 status=status)


# --- the page ----------------------------------------------------------------------------------


def _page(request: HttpRequest, inquiry: Inquiry, survey: d.SurveyDefinition, index: int,
          errors: dict[str, str], form: Any, status: int = 200) -> HttpResponse:
    answers = inquiry.answers or {}
    page = survey.pages[index]
    elements = [_element(e, answers, form, errors) for e in page.elements
                if d.visible(e, answers)]
    return _render(
        request, "surveys/page.html", status, inquiry,
        headline=survey.title or "Umfrage", description=survey.description or "",
        page_title=page.title or "", page_description=page.description or "",
        elements=elements, page=index, pages=len(survey.pages), number=index + 1,
        first=index == 0, last=index == len(survey.pages) - 1,
        page_error=errors.get(""), error_count=len([k for k in errors if k]),
    )


def _current(name: str, index: int | None, answers: dict[str, Any], form: Any) -> Any:
    if form is not None:
        key = field(name, index)
        many = form.getlist(key)
        return many if index is None and len(many) > 1 else form.get(key, "")
    return answers.get(name)


def _element(element: Any, answers: dict[str, Any], form: Any,
             errors: dict[str, str]) -> dict[str, Any]:
    if isinstance(element, d.Html):
        return {"kind": "html", "html": sanitize_html(element.html)}
    name = element.name
    out: dict[str, Any] = {
        "kind": element.type, "name": name, "field": field(name), "title": element.label,
        "description": element.description or "", "required": element.isRequired,
        "error": errors.get(name), "id": f"q-{name}",
    }
    value = _current(name, None, answers, form)
    if isinstance(element, d.Text):
        out["input_type"] = {"number": "text", "tel": "tel", "email": "email", "url": "url",
                             "date": "date"}.get(element.inputType, "text")
        out["inputmode"] = "decimal" if element.inputType == "number" else ""
        out["value"] = "" if value is None else str(value)
        out["placeholder"] = element.placeholder or ""
    elif isinstance(element, d.Comment):
        out["value"] = "" if value is None else str(value)
        out["rows"] = element.rows or 4
    elif isinstance(element, d.Radiogroup | d.Dropdown):
        out["options"] = _options(name, d.choice_pairs(element.choices), value)
    elif isinstance(element, d.Checkbox):
        picked = value if isinstance(value, list) else ([value] if value else [])
        chosen = [d.as_text(p) for p in picked]
        out["options"] = [{"value": v, "label": label, "checked": v in chosen,
                           "id": f"q-{name}-{i}"}
                          for i, (v, label) in enumerate(d.choice_pairs(element.choices))]
    elif isinstance(element, d.Boolean):
        out["kind"] = "radiogroup"
        out["options"] = _options(name, [("true", element.labelTrue or "Ja"),
                                   ("false", element.labelFalse or "Nein")], value)
    elif isinstance(element, d.Rating):
        out["options"] = _options(
            name, [(str(r), str(r)) for r in range(element.rateMin, element.rateMax + 1)], value)
        out["min_label"] = element.minRateDescription or ""
        out["max_label"] = element.maxRateDescription or ""
    elif isinstance(element, d.Ranking):
        choices = d.choice_pairs(element.choices)
        order = value if isinstance(value, list) else []
        rows = []
        for i, (v, label) in enumerate(choices):
            place = (str(order.index(v) + 1) if v in order else "") if form is None \
                else form.get(field(name, i), "")
            rows.append({"field": field(name, i), "label": label, "id": f"q-{name}-{i}",
                         "places": [{"value": str(p), "selected": str(p) == place}
                                    for p in range(1, len(choices) + 1)]})
        out["rows"] = rows
    elif isinstance(element, d.Matrix):
        columns = d.choice_pairs(element.columns)
        cells = value if isinstance(value, dict) else {}
        rows = []
        for i, (row, label) in enumerate(d.choice_pairs(element.rows)):
            chosen = cells.get(row, "") if form is None else form.get(field(name, i), "")
            rows.append({"label": label, "field": field(name, i), "cells": [
                {"value": c, "label": clabel, "checked": c == chosen, "id": f"q-{name}-{i}-{j}"}
                for j, (c, clabel) in enumerate(columns)]})
        out["columns"] = [label for _, label in columns]
        out["rows"] = rows
    return out


def _options(name: str, pairs: list[tuple[str, str]], value: Any) -> list[dict[str, Any]]:
    chosen = "" if value is None else d.as_text(value)
    return [{"value": v, "label": label, "checked": v == chosen, "id": f"q-{name}-{i}"}
            for i, (v, label) in enumerate(pairs)]
