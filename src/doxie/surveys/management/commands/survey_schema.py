"""``doxie survey_schema``: print the JSON Schema of the accepted SurveyJS subset (the file
published as ``docs/survey-definition.schema.json``)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from doxie.surveys.definition import schema_document


class Command(BaseCommand):
    help = "Print the JSON Schema of survey definitions"

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(schema_document(), indent=2, ensure_ascii=False))
