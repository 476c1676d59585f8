"""Admin UI for webhooks: endpoints (secrets masked, never editable here) and the
read-only interaction log. Both are scoped to the staff member's tenants."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from doxie.core.admin_scoping import TenantScopedAdmin
from doxie.core.crypto import mask
from doxie.core.http import validate_url_syntax
from doxie.webhooks import services
from doxie.webhooks.models import WebhookEndpoint, WebhookInteraction


def _pretty(value: Any) -> str:
    return format_html(
        '<pre style="white-space: pre-wrap; max-width: 60em">{}</pre>',
        json.dumps(value, indent=2, ensure_ascii=False),
    )


class EndpointForm(forms.ModelForm):
    """The same URL rule as the API: the admin UI must not be a way around the SSRF guard."""

    class Meta:
        model = WebhookEndpoint
        fields = ("tenant", "type", "url", "basic_auth_username", "is_active",
                  "send_original_payload")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if problem := validate_url_syntax(url):
            raise forms.ValidationError(problem)
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantScopedAdmin):
    form = EndpointForm
    list_display = ("id", "tenant", "type", "url", "is_active", "send_original_payload",
                    "deactivation_reason")
    list_filter = ("type", "is_active")
    search_fields = ("url",)
    readonly_fields = ("password_display", "secret_display", "failing_since",
                       "deactivated_at", "deactivation_reason", "created_at", "updated_at")

    @admin.display(description="Basic auth password")
    def password_display(self, obj: WebhookEndpoint) -> str:
        return mask(obj.basic_auth_password) or "—"

    @admin.display(description="Signing secret")
    def secret_display(self, obj: WebhookEndpoint) -> str:
        # Shown once by the API; rotate it there (POST …/rotate_secret).
        return mask(obj.signing_secret) or "—"

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form, change) -> None:
        """Deactivating here must end pending deliveries exactly as the API does."""
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            services.deactivate(obj, f"deactivated in the admin UI by {request.user}")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Creation issues a signing secret that must be shown once: that is the API's job.
        return False


@admin.register(WebhookInteraction)
class WebhookInteractionAdmin(TenantScopedAdmin):
    list_display = ("id", "tenant", "endpoint", "event", "status", "response_code",
                    "retry_count", "created_at", "next_attempt_at")
    list_filter = ("status", "event")
    search_fields = ("event_id", "process_id")
    list_select_related = ("tenant", "endpoint")
    fields = ("tenant", "endpoint", "event", "event_id", "process_id", "status",
              "attempt_count", "retry_count", "next_attempt_at", "claimed_until",
              "requested_method", "response_code", "duration_ms", "error",
              "sent_payload_display", "transaction_payload_display",
              "response_payload_display", "attempts_display", "created_at", "updated_at")
    readonly_fields = fields

    @admin.display(description="Sent payload")
    def sent_payload_display(self, obj: WebhookInteraction) -> str:
        return _pretty(obj.sent_payload)

    @admin.display(description="Transaction payload")
    def transaction_payload_display(self, obj: WebhookInteraction) -> str:
        return _pretty(obj.transaction_payload)

    @admin.display(description="Response payload")
    def response_payload_display(self, obj: WebhookInteraction) -> str:
        return _pretty(obj.response_payload)

    @admin.display(description="Attempts")
    def attempts_display(self, obj: WebhookInteraction) -> str:
        return _pretty(obj.attempts)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
