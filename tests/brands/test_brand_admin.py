"""Admin UI: secrets are never rendered, the mask keeps them, tenant scoping holds."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from doxie.brands.admin import SmtpConfigForm
from doxie.brands.models import Brand, SmtpConfig
from doxie.core.crypto import MASK
from doxie.tenants import services as tenant_services
from tests.brands.payloads import SECRETS, make_brand


class _FormFields(HTMLParser):
    """The values a browser would submit for the page's main form."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in {"submit", "button", "file"}:
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self.data[name] = a.get("value", "on" if a.get("type") == "checkbox" else "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] += data


def _superuser_client() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456789")
    client = Client()
    client.force_login(user)
    return client


def _change_url(brand: Brand) -> str:
    return f"/admin/brands/brand/{brand.id}/change/"


@pytest.mark.django_db
def test_change_page_never_renders_secrets(tenant):
    brand = make_brand(tenant)
    page = _superuser_client().get(_change_url(brand))
    assert page.status_code == 200
    html = page.content.decode()
    for secret in SECRETS.values():
        assert secret not in html
    assert html.count(f'value="{MASK}"') == 5
    assert brand.inbound_token not in html


@pytest.mark.django_db
def test_submitting_the_mask_keeps_and_empty_clears(tenant):
    brand = make_brand(tenant)
    client = _superuser_client()
    fields = _FormFields()
    fields.feed(client.get(_change_url(brand)).content.decode())
    data = dict(fields.data)
    data["name"] = "Renamed in admin"
    saved = client.post(_change_url(brand), data)
    assert saved.status_code == 302, saved.content.decode()[:3000]
    brand = Brand.objects.get(id=brand.id)
    assert brand.name == "Renamed in admin"
    assert brand.sms77_api_key == SECRETS["sms77_api_key"]
    smtp = SmtpConfig.objects.get(brand=brand)
    assert smtp.password == SECRETS["password"]
    assert smtp.tenant_id == tenant.id

    data["smtp_config-0-password"] = ""
    data["rcs_api_key"] = "replaced-in-admin"
    assert client.post(_change_url(brand), data).status_code == 302
    assert SmtpConfig.objects.get(brand=brand).password is None
    assert Brand.objects.get(id=brand.id).rcs_api_key == "replaced-in-admin"


@pytest.mark.django_db
def test_admin_applies_the_api_format_rules(tenant):
    brand = make_brand(tenant)
    form = SmtpConfigForm(
        instance=brand.smtp_config,
        data={"brand": brand.id, "address": "not a host", "port": 70000, "password": MASK,
              "enable_starttls_auto": "on"},
    )
    assert not form.is_valid()
    assert {"address", "port"} <= set(form.errors)
    ok = SmtpConfigForm(
        instance=brand.smtp_config,
        data={"brand": brand.id, "address": "smtp.example.org", "port": 25, "password": MASK},
    )
    assert ok.is_valid(), ok.errors
    assert ok.cleaned_data["password"] == SECRETS["password"]


@pytest.mark.django_db
def test_staff_see_only_their_tenants_brands(tenant, other_tenant):
    mine = make_brand(tenant, slug="mine")
    theirs = make_brand(other_tenant, slug="theirs")
    user = get_user_model().objects.create_user("staff", password="pw-123456789", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="brands",
                                  codename__in=["view_brand", "change_brand"])
    )
    tenant_services.grant_membership(tenant=tenant, user=user, can_read=True, can_write=True)
    client = Client()
    client.force_login(user)
    listing = client.get("/admin/brands/brand/").content.decode()
    assert "mine" in listing and "theirs" not in listing
    assert client.get(_change_url(mine)).status_code == 200
    assert client.get(_change_url(theirs)).status_code in {302, 404}
