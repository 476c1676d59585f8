"""Admin UI for consents: purposes are edited here; contacts, consents and the ledger are
read-only (they change only through the API and the DOI page, so the ledger stays the
complete story). Everything is scoped to the staff member's tenants."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from doxie.consents.config import field_problems
from doxie.consents.models import Consent, ConsentLedgerEntry, ConsentPurpose, Contact
from doxie.core.admin_scoping import TenantScopedAdmin, member_tenant_ids

_FORM_FIELD_FOR = {"doi_email_template": "doi_email_html"}


class ConsentPurposeForm(forms.ModelForm):
    """The same rules as ``apply_config``: templates compile, the brand is the tenant's."""

    class Meta:
        model = ConsentPurpose
        fields = (
            "tenant", "slug", "name", "brand", "doi_email_sender", "doi_email_sender_name",
            "doi_email_subject", "doi_email_html", "doi_email_text", "doi_sms_text",
            "confirmation_validity_hours", "success_redirect_url", "success_page_html",
            "success_landing_page_slug",
            "resend_throttle_seconds",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        tenant, brand = cleaned.get("tenant"), cleaned.get("brand")
        if tenant is not None and brand is not None and brand.tenant_id != tenant.id:
            self.add_error("brand", "The brand belongs to another tenant.")
        for field, message in field_problems(cleaned):
            name = _FORM_FIELD_FOR.get(field, field)
            self.add_error(name if name in self.fields else None, message)
        return cleaned


class ReadOnlyAdmin(TenantScopedAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ConsentPurpose)
class ConsentPurposeAdmin(TenantScopedAdmin):
    form = ConsentPurposeForm
    list_display = ("slug", "name", "tenant", "brand", "confirmation_validity_hours")
    search_fields = ("slug", "name")
    list_select_related = ("tenant", "brand")
    readonly_fields = ("created_at", "updated_at")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "brand" and not request.user.is_superuser:
            from doxie.brands.models import Brand

            kwargs["queryset"] = Brand.objects.filter(tenant_id__in=member_tenant_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Consents point at their purpose (PROTECT); deleting one would orphan the proof.
        return False


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ("customer_id", "tenant", "email", "phone", "erased_at", "created_at")
    search_fields = ("customer_id", "email", "phone")
    list_filter = ("tenant",)


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ("id", "tenant", "contact", "purpose", "channel", "channel_value", "status",
                    "expires_at", "confirmed_at", "revoked_at")
    list_filter = ("status", "channel")
    search_fields = ("channel_value", "contact__customer_id")
    list_select_related = ("tenant", "contact", "purpose")
    exclude = ("token_hash",)


@admin.register(ConsentLedgerEntry)
class ConsentLedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("seq", "tenant", "kind", "occurred_at", "actor", "ip", "consent", "contact")
    list_filter = ("kind",)
    search_fields = ("actor", "entry_hash", "channel_value_hash")
    list_select_related = ("tenant", "consent", "contact")
    readonly_fields = ("data_pretty",)
    exclude = ("data",)

    @admin.display(description="Data")
    def data_pretty(self, obj: ConsentLedgerEntry) -> str:
        return format_html(
            '<pre style="white-space: pre-wrap; max-width: 60em">{}</pre>',
            json.dumps(obj.data, indent=2, ensure_ascii=False),
        )
