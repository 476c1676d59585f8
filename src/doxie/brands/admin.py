"""Admin UI for brands: provider records and style as inlines, secrets never shown.

Secret inputs are password fields that display the mask (``********``) when a value is
stored; submitting the mask keeps the stored value, an empty field clears it, anything else
replaces it. The plaintext is never rendered into a page. Formats are checked with the same
rules as the API (``doxie.brands.validation``). The inbound token is not shown: it is the
credential of the provider callback URLs.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from doxie.brands import validation
from doxie.brands.models import Brand, MailjetApiUser, SesApiUser, SmtpConfig, Style
from doxie.core.admin_scoping import TenantScopedAdmin
from doxie.core.crypto import MASK


class SecretInput(forms.PasswordInput):
    """Renders the mask, never the value (``render_value`` applies to the mask only)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"autocomplete": "new-password", **(attrs or {})}, render_value=True)


class SecretFieldsForm(forms.ModelForm):
    """ModelForm whose ``secret_fields`` follow the mask rules described above."""

    secret_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.secret_fields:
            if name not in self.fields:
                continue
            self.fields[name] = forms.CharField(
                required=False,
                widget=SecretInput(),
                label=self.fields[name].label,
                help_text="Shown as ******** when set. Leave the mask to keep the value, "
                "clear the field to remove it.",
            )
            stored = getattr(self.instance, name, None) if self.instance.pk else None
            self.initial[name] = MASK if stored else ""

    def _clean_secret(self, name: str) -> str | None:
        value = self.cleaned_data.get(name)
        if value == MASK:
            return getattr(self.instance, name, None) if self.instance.pk else None
        return value or None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in self.secret_fields:
            if name in self.fields:
                cleaned[name] = self._clean_secret(name)
        return cleaned


def _check(form: forms.ModelForm, checks: dict[str, Any]) -> None:
    """Apply the API's format rules to the form's cleaned data (lists element by element)."""
    for name, check in checks.items():
        value = form.cleaned_data.get(name)
        if value in (None, "", []):
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            problem = check(item) if isinstance(item, str) else None
            if problem:
                form.add_error(name, f"{item}: {problem}")
                break


class BrandForm(SecretFieldsForm):
    secret_fields = ("sms77_api_key", "rcs_api_key")

    class Meta:
        model = Brand
        exclude = ("inbound_token",)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in ("possible_sender_emails", "rcs_possible_senders"):
            if name in cleaned and not isinstance(cleaned[name], list):
                self.add_error(name, "must be a JSON list of strings")
        _check(
            self,
            {
                "slug": validation.slug_error,
                "sender_phone_number": validation.phone_error,
                "possible_sender_emails": validation.email_error,
                "rcs_possible_senders": validation.rcs_sender_error,
            },
        )
        for name in (
            "pseudonymization_duration_of_sent_messages_in_days",
            "storage_duration_of_sent_messages_in_days",
        ):
            days = cleaned.get(name)
            if isinstance(days, int) and (problem := validation.retention_error(days)):
                self.add_error(name, problem)
        pseudonymize = cleaned.get("pseudonymization_duration_of_sent_messages_in_days")
        storage = cleaned.get("storage_duration_of_sent_messages_in_days")
        if isinstance(pseudonymize, int) and isinstance(storage, int) and pseudonymize > storage:
            self.add_error(
                "pseudonymization_duration_of_sent_messages_in_days",
                "must not exceed the storage duration",
            )
        return cleaned


class MailjetApiUserForm(SecretFieldsForm):
    secret_fields = ("private_api_key",)

    class Meta:
        model = MailjetApiUser
        exclude = ("tenant",)


class SesApiUserForm(SecretFieldsForm):
    secret_fields = ("secret_access_key",)

    class Meta:
        model = SesApiUser
        exclude = ("tenant",)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _check(self, {"region": validation.aws_region_error})
        return cleaned


class SmtpConfigForm(SecretFieldsForm):
    secret_fields = ("password",)

    class Meta:
        model = SmtpConfig
        exclude = ("tenant",)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _check(
            self,
            {
                "address": validation.smtp_host_error,
                "domain": validation.hostname_error,
                "envelope_from": validation.email_error,
            },
        )
        port = cleaned.get("port")
        if isinstance(port, int) and (problem := validation.port_error(port)):
            self.add_error("port", problem)
        return cleaned


class StyleForm(forms.ModelForm):
    class Meta:
        model = Style
        exclude = ("tenant",)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        checks: dict[str, Any] = {
            "border_radius": validation.css_length_error,
            "pages_font_family_path": validation.font_path_error,
            "pages_headline_font_family_path": validation.font_path_error,
            "pages_font_family_weight": validation.font_weight_error,
            "pages_headline_font_family_weight": validation.font_weight_error,
        }
        for name in ("primary_color", "secondary_color", "light_accent_color",
                     "dark_accent_color"):
            checks[name] = validation.hex_color_error
        for name in ("font_family", "fallback_font_family", "pages_font_family",
                     "pages_headline_font_family"):
            checks[name] = validation.font_family_error
        _check(self, checks)
        return cleaned


class _PartInline(admin.StackedInline):
    extra = 0
    max_num = 1
    can_delete = True


class MailjetApiUserInline(_PartInline):
    model = MailjetApiUser
    form = MailjetApiUserForm


class SesApiUserInline(_PartInline):
    model = SesApiUser
    form = SesApiUserForm


class SmtpConfigInline(_PartInline):
    model = SmtpConfig
    form = SmtpConfigForm


class StyleInline(_PartInline):
    model = Style
    form = StyleForm


@admin.register(Brand)
class BrandAdmin(TenantScopedAdmin):
    form = BrandForm
    inlines = (MailjetApiUserInline, SesApiUserInline, SmtpConfigInline, StyleInline)
    list_display = ("name", "slug", "tenant", "mail_provider", "updated_at")
    list_filter = ("mail_provider",)
    search_fields = ("name", "slug")
    readonly_fields = ("ses_configuration_set", "created_at", "updated_at")
    list_select_related = ("tenant",)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Parts carry the brand's tenant (every table does); the inline form hides it."""
        brand: Brand = form.instance
        instances: list[Model] = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for obj in instances:
            obj.tenant_id = brand.tenant_id
            obj.save()
        formset.save_m2m()
