"""Admin UI for surveys: the definition (validated like ``apply_config``) with a page
preview, inquiries read-only, responses read-only with a CSV export. Tenant-scoped."""

from __future__ import annotations

import csv
import json
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from doxie.consents.rendering import sanitize_html
from doxie.core.admin_scoping import TenantScopedAdmin
from doxie.surveys import definition as d
from doxie.surveys.models import Inquiry, Survey, SurveyResponse


class SurveyForm(forms.ModelForm):
    class Meta:
        model = Survey
        fields = ("tenant", "event", "definition", "valid_for_days", "reminder_after_days")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        raw = {**(cleaned.get("definition") or {}),
               "valid_for_days": cleaned.get("valid_for_days") or 14}
        if cleaned.get("reminder_after_days"):
            raw["reminder_after_days"] = cleaned["reminder_after_days"]
        for problem in d.problems(raw, "definition"):
            self.add_error("definition", problem)
        event, tenant = cleaned.get("event"), cleaned.get("tenant")
        if event is not None and tenant is not None and event.tenant_id != tenant.id:
            self.add_error("event", "The event belongs to another tenant.")
        return cleaned


@admin.register(Survey)
class SurveyAdmin(TenantScopedAdmin):
    form = SurveyForm
    list_display = ("event", "tenant", "valid_for_days", "reminder_after_days", "preview_link")
    readonly_fields = ("preview_link",)

    def get_urls(self):
        return [path("<int:pk>/preview/", self.admin_site.admin_view(self.preview),
                     name="surveys_survey_preview"), *super().get_urls()]

    @admin.display(description="Preview")
    def preview_link(self, obj: Survey) -> str:
        if not obj.pk:
            return "-"
        return format_html('<a href="{}">Preview</a>', reverse("admin:surveys_survey_preview",
                                                                args=[obj.pk]))

    def preview(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Every page of the survey, read-only, as the respondent will see the questions."""
        survey = self.get_queryset(request).filter(pk=pk).first()
        if survey is None:
            return HttpResponse("Not found", status=404)
        definition = d.load(survey.definition)
        parts = [format_html("<h1>{}</h1>", definition.title or survey.event.slug)]
        for number, page in enumerate(definition.pages, start=1):
            parts.append(format_html("<h2>Seite {}{}</h2>", number,
                                     f": {page.title}" if page.title else ""))
            for element in page.elements:
                if isinstance(element, d.Html):
                    parts.append(format_html("<div>{}</div>",
                                             _safe(sanitize_html(element.html))))
                    continue
                extra = ""
                if hasattr(element, "choices"):
                    extra = ", ".join(label for _, label in d.choice_pairs(element.choices))
                elif isinstance(element, d.Rating):
                    extra = f"{element.rateMin} – {element.rateMax}"
                elif isinstance(element, d.Matrix):
                    extra = ", ".join(label for _, label in d.choice_pairs(element.rows))
                parts.append(format_html(
                    "<p><strong>{}</strong>{} <em>({})</em><br>{}</p>", element.label,
                    " *" if element.isRequired else "", element.type, extra))
        return HttpResponse("".join(parts))


def _safe(value: str) -> Any:
    from django.utils.safestring import mark_safe

    return mark_safe(value)  # noqa: S308 - sanitized by nh3 just before


class _ReadOnly(TenantScopedAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Inquiry)
class InquiryAdmin(_ReadOnly):
    list_display = ("uuid", "survey", "state", "created_at", "opened_at", "finished_at")
    list_filter = ("state",)
    exclude = ("token_hash", "reminder_token_hash")


@admin.register(SurveyResponse)
class ResponseAdmin(_ReadOnly):
    list_display = ("inquiry", "survey", "completed_at")
    actions = ("export_csv",)

    @admin.action(description="Export selected responses as CSV")
    def export_csv(self, request: HttpRequest, queryset) -> HttpResponse:
        rows = list(queryset.select_related("survey", "inquiry").order_by("completed_at"))
        names: list[str] = []
        for row in rows:
            for question in d.load(row.survey.definition).questions():
                if question.name not in names:
                    names.append(question.name)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="survey-responses.csv"'
        writer = csv.writer(response)
        writer.writerow(["inquiry_id", "completed_at", *names])
        for row in rows:
            writer.writerow([str(row.inquiry.uuid), row.completed_at.isoformat(),
                             *(_cell(row.answers.get(n)) for n in names)])
        return response


def _cell(value: Any) -> str:
    """One CSV cell; a leading =,+,-,@ is quoted so spreadsheets do not run it."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
