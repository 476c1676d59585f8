from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from doxie.core import ratelimit
from doxie.core.admin_scoping import TenantScopedAdmin, member_tenant_ids
from doxie.core.net import client_ip
from doxie.tenants.models import ApiUser, Membership, Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "time_zone", "activated_at", "created_at")
    search_fields = ("slug", "name")
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(id__in=member_tenant_ids(request))


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ("user", "tenant", "can_read", "can_write")
    list_filter = ("can_read", "can_write")


@admin.register(ApiUser)
class ApiUserAdmin(TenantScopedAdmin):
    list_display = ("username", "tenant", "created_at")
    search_fields = ("username",)
    # The hash is never shown: passwords are set through the API or `doxie create_api_user`.
    exclude = ("password_hash",)
    readonly_fields = ("username", "tenant", "created_at", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class ThrottledLoginForm(AdminAuthenticationForm):
    """The admin login — also the OAuth2 authorization login (LOGIN_URL) — with the same
    failure back-off as HTTP Basic (``core.ratelimit.login_*``).

    A blocked attempt is refused before the password is checked, so it tells a guesser
    nothing; only wrong passwords count, so the rightful user signing in from their own
    address is never held up by someone guessing elsewhere.
    """

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": "Too many failed sign-in attempts; try again in %(wait)s seconds.",
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = client_ip(self.request) if self.request is not None else ""
        if self.cleaned_data.get("password") is not None and username:
            wait = ratelimit.login_wait("admin", username, ip)
            if wait:
                raise ValidationError(
                    self.error_messages["throttled"], code="throttled", params={"wait": wait}
                )
        try:
            return super().clean()
        except ValidationError:
            if self.user_cache is None and username:  # wrong password, not "not staff"
                ratelimit.login_failed("admin", username, ip)
            raise


admin.site.login_form = ThrottledLoginForm
