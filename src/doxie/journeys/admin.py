"""Admin UI: journeys as a readable step tree with per-step counts; runs read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from doxie.core.admin_scoping import TenantScopedAdmin
from doxie.journeys import selectors
from doxie.journeys.models import JourneyRun, JourneyVersion


def _render(nodes: list[dict[str, Any]]) -> str:
    def one(node: dict[str, Any]) -> tuple[Any, ...]:
        value = node["value"]
        text = value if isinstance(value, str) else ", ".join(
            f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
        children = []
        for name in ("then", "else"):
            if name in node:
                children.append(format_html("<li><em>{}</em>{}</li>", name,
                                            format_html("{}", _render(node[name]))))
        for name, sub in (node.get("branches") or {}).items():
            children.append(format_html("<li><em>{}</em>{}</li>", name, _render(sub)))
        nested = format_html("<ul>{}</ul>", format_html_join("", "{}", ((c,) for c in children))) \
            if children else ""
        return (node["step"], node["kind"], text, node["waiting"], nested)

    return format_html("<ul>{}</ul>", format_html_join(
        "", "<li><b>{}</b> {} <code>{}</code> — waiting: {}{}</li>", (one(n) for n in nodes)))


@admin.register(JourneyVersion)
class JourneyVersionAdmin(TenantScopedAdmin):
    list_display = ("event", "number", "tenant", "created_at")
    readonly_fields = ("event", "number", "tree", "created_at")
    fields = readonly_fields
    list_select_related = ("event", "tenant")

    @admin.display(description="steps (active runs waiting in each)")
    def tree(self, obj: JourneyVersion) -> str:
        stats = selectors.journey_stats(obj.event)
        counts = stats["waiting"] if stats["version"] == obj.number else {}
        return _render(selectors.step_tree(obj.definition["steps"], counts))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(JourneyRun)
class JourneyRunAdmin(TenantScopedAdmin):
    list_display = ("process", "event", "state", "pc", "wake_at", "created_at")
    list_filter = ("state",)
    list_select_related = ("process", "event")
    readonly_fields = ("process", "version", "state", "wake_at", "waiting", "history",
                       "exit_reason", "ended_at")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
