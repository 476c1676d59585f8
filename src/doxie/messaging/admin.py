"""Admin UI for messaging: events with their templates, the suppression list, and read-only
views of messages (with the status history); processes are in the processes admin.

Everything is tenant-scoped (a staff member sees the tenants they are a member of), and the
forms apply the same rules as ``apply_config``: templates must compile in the sandbox and an
email sender must be one of the brand's ``possible_sender_emails``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from doxie.core.admin_scoping import TenantScopedAdmin, member_tenant_ids
from doxie.messaging import config, services
from doxie.messaging.models import (
    EmailTemplate,
    Message,
    MessageStatusEvent,
    RcsTemplate,
    SmsTemplate,
    Suppression,
)
from doxie.messaging.rendering import syntax_error
from doxie.processes.models import Event


def _scoped(request: HttpRequest, queryset: Any) -> Any:
    if request.user.is_superuser:
        return queryset
    return queryset.filter(tenant_id__in=member_tenant_ids(request))


class EventForm(forms.ModelForm):
    class Meta:
        model = Event
        fields = "__all__"
        help_texts = {
            "parameters": 'A list like [{"name": "email", "required": true}, '
            '{"name": "first_name"}].',
            "required_consent_slug": "Slug of a consent purpose; recipients without a "
            "confirmed consent for it are not sent.",
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        brand, tenant = cleaned.get("brand"), cleaned.get("tenant")
        if brand is not None and tenant is not None and brand.tenant_id != tenant.id:
            self.add_error("brand", "The brand belongs to another tenant.")
        problems = config.parameter_problems("parameters", cleaned.get("parameters"))
        if problems:
            self.add_error("parameters", "; ".join(problems))
        elif cleaned.get("parameters") is not None:
            cleaned["parameters"] = config.normalize_parameters(cleaned["parameters"])
        return cleaned


class TemplateForm(forms.ModelForm):
    """Checks every template field in the sandbox (and the sender for email)."""

    template_fields: tuple[tuple[str, bool], ...] = (("to", False),)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name, is_html in self.template_fields:
            value = cleaned.get(name)
            if isinstance(value, str) and (error := syntax_error(value, html=is_html)):
                self.add_error(name, error)
        return cleaned


class EmailTemplateForm(TemplateForm):
    template_fields = (("to", False), ("subject", False), ("html", True), ("text", False),
                       ("reply_to", False))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not (cleaned.get("html") or cleaned.get("text")):
            self.add_error("html", "An email template needs HTML or text.")
        return cleaned


class EmailTemplateFormSet(BaseInlineFormSet):
    """The sender rule needs the event's brand, which only the formset knows (a new event
    is not saved while its inlines are validated)."""

    def clean(self) -> None:
        super().clean()
        brand = getattr(self.instance, "brand", None)
        if brand is None:
            return
        allowed = {s.lower() for s in brand.possible_sender_emails or []}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            sender = data.get("sender")
            if sender and not data.get("DELETE") and sender.lower() not in allowed:
                form.add_error("sender", "Not one of the brand's possible sender emails: "
                               f"{', '.join(sorted(allowed)) or 'none configured'}.")


class SmsTemplateForm(TemplateForm):
    template_fields = (("to", False), ("text", False))


class RcsTemplateForm(TemplateForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        content = cleaned.get("content")
        if not isinstance(content, dict) or not isinstance(content.get("text"), str):
            self.add_error("content", 'RCS content must be an object with a "text".')
        else:
            for path, text in config.content_strings(content, "content"):
                if error := syntax_error(text):
                    self.add_error("content", f"{path}: {error}")
        return cleaned


class _TemplateInline(admin.StackedInline):
    extra = 0
    exclude = ("tenant",)


class EmailTemplateInline(_TemplateInline):
    model = EmailTemplate
    form = EmailTemplateForm
    formset = EmailTemplateFormSet


class SmsTemplateInline(_TemplateInline):
    model = SmsTemplate
    form = SmsTemplateForm


class RcsTemplateInline(_TemplateInline):
    model = RcsTemplate
    form = RcsTemplateForm


@admin.register(Event)
class EventAdmin(TenantScopedAdmin):
    form = EventForm
    list_display = ("slug", "name", "kind", "brand", "tenant", "required_consent_slug")
    list_filter = ("kind",)
    search_fields = ("slug", "name")
    readonly_fields = ("created_at", "updated_at")
    inlines = (EmailTemplateInline, SmsTemplateInline, RcsTemplateInline)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "brand":
            from doxie.brands.models import Brand

            kwargs["queryset"] = _scoped(request, Brand.objects.all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        """Templates inherit the event's tenant (the field is not shown)."""
        for instance in formset.save(commit=False):
            instance.tenant_id = form.instance.tenant_id
            instance.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()


class SuppressionForm(forms.ModelForm):
    class Meta:
        model = Suppression
        fields = ("tenant", "address", "reason")

    def clean_address(self) -> str:
        return services.normalize_address(self.cleaned_data["address"])


@admin.register(Suppression)
class SuppressionAdmin(TenantScopedAdmin):
    form = SuppressionForm
    list_display = ("address", "reason", "tenant", "created_at")
    list_filter = ("reason",)
    search_fields = ("address",)


class StatusHistoryInline(admin.TabularInline):
    model = MessageStatusEvent
    fields = ("status", "occurred_at", "source", "detail")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _ReadOnly(TenantScopedAdmin):
    """A ledger: viewable, never edited through the UI."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(_ReadOnly):
    list_display = ("public_id", "channel", "recipient", "template_name", "status", "created_at",
                    "sent_at")
    list_filter = ("status", "channel")
    search_fields = ("recipient", "=public_id", "=provider_message_id")
    list_select_related = ("tenant",)
    inlines = (StatusHistoryInline,)
    exclude = ("lease_token",)
