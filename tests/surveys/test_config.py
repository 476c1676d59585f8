"""apply_config: a definition with every supported type round-trips; unknown types and keys
are errors naming the path; the published JSON Schema is the models'."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from doxie.surveys import definition as d
from doxie.surveys.models import Survey
from tests.surveys.conftest import DEFINITION, apply, event_document

pytestmark = pytest.mark.django_db

EVERY_TYPE = {
    "valid_for_days": 7,
    "title": "Alles",
    "pages": [
        {"name": "p1", "title": "Eins", "elements": [
            {"type": "text", "name": "t_text"},
            {"type": "text", "name": "t_email", "inputType": "email", "isRequired": True},
            {"type": "text", "name": "t_number", "inputType": "number"},
            {"type": "text", "name": "t_date", "inputType": "date"},
            {"type": "text", "name": "t_tel", "inputType": "tel"},
            {"type": "text", "name": "t_url", "inputType": "url"},
            {"type": "comment", "name": "t_comment", "rows": 3},
            {"type": "html", "name": "intro", "html": "<p>Hallo</p>"},
        ]},
        {"elements": [
            {"type": "radiogroup", "name": "t_radio",
             "choices": ["a", {"value": 2, "text": "Zwei"}]},
            {"type": "checkbox", "name": "t_check", "choices": ["x", "y"]},
            {"type": "dropdown", "name": "t_drop", "choices": ["d1", "d2"],
             "visibleIf": "{t_radio} = 'a' or {t_check} contains 'x'"},
            {"type": "boolean", "name": "t_bool", "labelTrue": "Ja!", "labelFalse": "Nein!"},
            {"type": "rating", "name": "t_rating", "rateMin": 1, "rateMax": 5},
            {"type": "ranking", "name": "t_rank", "choices": ["r1", "r2", "r3"]},
            {"type": "matrix", "name": "t_matrix", "columns": ["gut", "schlecht"],
             "rows": [{"value": "service", "text": "Service"}, "preis"]},
        ]},
    ],
}


def test_every_supported_type_round_trips(tenant, brand, tmp_path: Path):
    apply(tenant, event_document(EVERY_TYPE), tmp_path)

    survey = Survey.objects.get()
    assert survey.valid_for_days == 7 and survey.reminder_after_days is None
    expected = {k: v for k, v in EVERY_TYPE.items() if k != "valid_for_days"}
    assert d.load(survey.definition) == d.SurveyDefinition.model_validate(expected)
    assert survey.event.kind == "survey"

    # The same document again changes nothing; a changed definition updates it.
    apply(tenant, event_document(EVERY_TYPE), tmp_path)
    assert Survey.objects.get().updated_at == survey.updated_at
    apply(tenant, event_document(DEFINITION), tmp_path)
    survey.refresh_from_db()
    assert survey.reminder_after_days == 3 and survey.definition["title"] == DEFINITION["title"]


@pytest.mark.parametrize(("survey", "expected"), [
    ({"pages": [{"elements": [{"type": "slider", "name": "x"}]}]},
     "events[0] (feedback).survey.pages[0].elements[0]: unknown question type"),
    ({"pages": [{"elements": [{"type": "text", "name": "x", "colour": "red"}]}]},
     "events[0] (feedback).survey.pages[0].elements[0].colour: unknown key"),
    ({"pages": [], "bogus": 1}, "events[0] (feedback).survey.bogus: unknown key"),
    ({"pages": [{"elements": [{"type": "rating", "name": "r", "rateMin": 5, "rateMax": 1}]}]},
     "events[0] (feedback).survey.pages[0].elements[0]: Value error, rateMax must be above"),
    ({"pages": [{"elements": [{"type": "text", "name": "a", "visibleIf": "{b} = 1"}]}]},
     "refers to unknown question 'b'"),
    ({"pages": [{"elements": [{"type": "text", "name": "a", "visibleIf": "a ~ 1"}]}]},
     "visibleIf: cannot understand"),
    ({"pages": [{"elements": [{"type": "radiogroup", "name": "a", "choices": ["x", "x"]}]}]},
     "choice values must be unique"),
])
def test_invalid_definitions_name_the_path(tenant, brand, tmp_path, capsys, survey, expected):
    with pytest.raises(CommandError):
        apply(tenant, event_document(survey), tmp_path)
    assert expected in capsys.readouterr().err
    assert not Survey.objects.exists()


def test_survey_key_belongs_to_survey_events_only(tenant, brand, tmp_path, capsys):
    document = event_document()
    document["events"][0]["kind"] = "mailer"
    with pytest.raises(CommandError):
        apply(tenant, document, tmp_path)
    assert "only events of kind 'survey' have a survey" in capsys.readouterr().err
    del document["events"][0]["survey"]
    document["events"][0]["kind"] = "survey"
    with pytest.raises(CommandError):
        apply(tenant, document, tmp_path)
    assert "a survey event needs 'survey'" in capsys.readouterr().err


def test_dry_run_writes_nothing(tenant, brand, tmp_path, capsys):
    apply(tenant, event_document(), tmp_path, "--dry-run")
    assert "would change: event 'feedback': survey created" in capsys.readouterr().out
    assert not Survey.objects.exists()


def test_published_schema_is_the_models_schema():
    published = Path(__file__).parents[2] / "docs" / "survey-definition.schema.json"
    assert json.loads(published.read_text()) == d.schema_document()
