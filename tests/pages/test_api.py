"""Layouts (E9–E13), landing pages CRUD and the editor routes (E1–E5): success, validation,
auth, permission and isolation."""

from __future__ import annotations

import pytest

from doxie.pages.models import ContentVersion, LandingPage
from tests.helpers import make_admin_caller
from tests.pages.conftest import every_component

pytestmark = pytest.mark.django_db

BASE = "/api/v1/acme/admin"


def _layout(api, admin, brand, name="Default layout"):
    r = api.post(f"{BASE}/pages/landing_page_layouts",
                 {"pages_landing_page_layout": {"name": name, "brand_id": brand.pk}}, caller=admin)
    assert r.status_code == 201, r.content
    return r.json()["data"]


def _page(api, admin, brand, slug="welcome", layout_id=None):
    body = {"pages_landing_page": {"name": "Welcome", "slug": slug, "brand_id": brand.pk,
                                   "layout_id": layout_id}}
    r = api.post(f"{BASE}/pages/landing_pages", body, caller=admin)
    assert r.status_code == 201, r.content
    return r.json()["data"]


def test_layout_crud(api, admin, brand):
    created = _layout(api, admin, brand)
    assert created["name"] == "Default layout" and created["brand_id"] == brand.pk
    listed = api.get(f"{BASE}/pages/landing_page_layouts?limit=1", caller=admin).json()["data"]
    assert listed["pagination"]["total_count"] == 1
    assert listed["pages_landing_page_layouts"][0]["id"] == created["id"]
    url = f"{BASE}/pages/landing_page_layouts/{created['id']}"
    assert api.get(url, caller=admin).json()["data"]["name"] == "Default layout"
    r = api.patch(url, {"pages_landing_page_layout": {"name": "Renamed"}}, caller=admin)
    assert r.status_code == 200 and r.json()["data"]["name"] == "Renamed"
    r = api.delete(url, caller=admin)
    assert r.status_code == 200 and r.json()["data"]["id"] == created["id"]
    assert api.get(url, caller=admin).status_code == 404


def test_layout_in_use_is_409(api, admin, brand):
    layout = _layout(api, admin, brand)
    _page(api, admin, brand, layout_id=layout["id"])
    r = api.delete(f"{BASE}/pages/landing_page_layouts/{layout['id']}", caller=admin)
    assert r.status_code == 409 and "welcome" in r.json()["error"]


def test_layout_validation(api, admin, brand, other_brand):
    url = f"{BASE}/pages/landing_page_layouts"
    r = api.post(url, {"pages_landing_page_layout": {"name": ""}}, caller=admin)
    assert r.status_code == 422
    fields = {d["field"] for d in r.json()["details"]}
    assert "pages_landing_page_layout.brand_id" in fields
    # Another tenant's brand is unknown here.
    r = api.post(url, {"pages_landing_page_layout": {"name": "x", "brand_id": other_brand.pk}},
                 caller=admin)
    assert r.status_code == 404


def test_page_crud_and_duplicate_slug(api, admin, brand):
    page = _page(api, admin, brand)
    assert page["status"] == "draft" and page["url"].endswith("/p/acme/welcome")
    body = {"pages_landing_page": {"name": "B", "slug": "welcome", "brand_id": brand.pk}}
    assert api.post(f"{BASE}/pages/landing_pages", body, caller=admin).status_code == 409
    url = f"{BASE}/pages/landing_pages/{page['id']}"
    r = api.patch(url, {"pages_landing_page": {"slug": "hello"}}, caller=admin)
    assert r.status_code == 200 and r.json()["data"]["slug"] == "hello"
    r = api.patch(url, {"pages_landing_page": {"slug": "Not A Slug"}}, caller=admin)
    assert r.status_code == 422
    assert api.get(f"{BASE}/pages/landing_pages", caller=admin).json()["data"][
        "pagination"]["total_count"] == 1
    assert api.delete(url, caller=admin).status_code == 200
    assert api.get(url, caller=admin).status_code == 404


def test_auth_permission_isolation(api, admin, reader, brand, tenant, other_admin, other_tenant):
    page = _page(api, admin, brand)
    layout = _layout(api, admin, brand)
    no_read = make_admin_caller(tenant, read=False, write=True)
    reads = [f"{BASE}/pages/landing_pages", f"{BASE}/pages/landing_pages/{page['id']}",
             f"{BASE}/pages/landing_page_layouts", f"{BASE}/editor/landing_pages/{page['id']}",
             f"{BASE}/editor/landing_page_layouts/{layout['id']}", f"{BASE}/editor/assets"]
    for url in reads:
        assert api.get(url).status_code == 401, url
        r = api.get(url, caller=no_read)
        assert r.status_code == 403 and r.json()["error"] == "No read permission", url
        assert api.get(url, caller=other_admin).status_code == 404, url
    writes = [("patch", f"{BASE}/editor/landing_pages/{page['id']}",
               {"content_state": every_component()}),
              ("post", f"{BASE}/editor/landing_pages/{page['id']}/publish", None),
              ("delete", f"{BASE}/pages/landing_pages/{page['id']}", None),
              ("delete", f"{BASE}/pages/landing_page_layouts/{layout['id']}", None)]
    for method, url, body in writes:
        r = api.request(method, url, body, caller=reader)
        assert r.status_code == 403 and r.json()["error"] == "No write permission", url
    # Another tenant's admin asking under its own tenant: the record is a 404.
    from tests.helpers import make_admin_caller as mk
    theirs = mk(other_tenant)
    r = api.get(f"/api/v1/other/admin/pages/landing_pages/{page['id']}", caller=theirs)
    assert r.status_code == 404
    r = api.get(f"/api/v1/other/admin/editor/landing_pages/{page['id']}", caller=theirs)
    assert r.status_code == 404


def test_editor_payload_and_save_with_versions(api, admin, brand):
    page = _page(api, admin, brand)
    url = f"{BASE}/editor/landing_pages/{page['id']}"
    data = api.get(url, caller=admin).json()["data"]
    assert data["content_state"] == {"root": {"props": {}}, "content": [], "zones": {}}
    assert data["brand"]["slug"] == "acme" and data["brand"]["style"]["primary_color"] == "#ff0000"
    assert data["endpoints"]["publish"] == f"{url}/publish"
    assert data["endpoints"]["assets"] == f"{BASE}/editor/assets"
    assert "Heading" in data["editor"]["components"]
    assert "PageContent" not in data["editor"]["components"]
    assert "#ff0000" in data["editor"]["colors"]
    for i in range(22):
        state = every_component()
        state["content"][0]["props"]["text"] = f"v{i}"
        r = api.patch(url, {"content_state": state}, caller=admin)
        assert r.status_code == 200, r.content
    assert r.json()["data"]["version"] == 23
    row = LandingPage.objects.get(pk=page["id"])
    assert row.content_state["content"][0]["props"]["text"] == "v21"
    kept = list(ContentVersion.objects.filter(page=row).values_list("version", flat=True))
    assert kept == list(range(22, 2, -1))  # the previous 20


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda s: s["content"].append({"type": "Script", "props": {"id": "x"}}),
     "content_state.content.8.type"),
    (lambda s: s["content"][0]["props"].pop("id"), "content_state.content.0.props.id"),
    (lambda s: s["content"][0]["props"].update(level="2"), "content_state.content.0.props.level"),
    (lambda s: s["content"][0]["props"].update(level=7), "content_state.content.0.props.level"),
    (lambda s: s["content"][0]["props"].update(onclick="x"),
     "content_state.content.0.props.onclick"),
    (lambda s: s["content"][5]["props"]["col1"][0]["props"].update(text=5),
     "content_state.content.5.props.col1.0.props.text"),
    (lambda s: s["content"].append({"type": "PageContent", "props": {"id": "pc"}}),
     "content_state.content.8.type"),
    (lambda s: s.update(content="x"), "content_state.content"),
    (lambda s: s["content"][1]["props"].update(id="h1"), "content_state.content.1.props.id"),
])
def test_content_state_validation_names_the_path(api, admin, brand, mutate, field):
    page = _page(api, admin, brand)
    state = every_component()
    mutate(state)
    r = api.patch(f"{BASE}/editor/landing_pages/{page['id']}", {"content_state": state},
                  caller=admin)
    assert r.status_code == 422, r.content
    assert field in {d["field"] for d in r.json()["details"]}
    assert LandingPage.objects.get(pk=page["id"]).version == 1


def test_content_state_size_limit(api, admin, brand, settings):
    settings.DOXIE_PAGES_MAX_CONTENT_STATE = 2000
    page = _page(api, admin, brand)
    state = every_component()
    state["content"][1]["props"]["text"] = "x" * 3000
    r = api.patch(f"{BASE}/editor/landing_pages/{page['id']}", {"content_state": state},
                  caller=admin)
    assert r.status_code == 413


def test_layout_editor_accepts_page_content(api, admin, brand):
    layout = _layout(api, admin, brand)
    url = f"{BASE}/editor/landing_page_layouts/{layout['id']}"
    data = api.get(url, caller=admin).json()["data"]
    assert "PageContent" in data["editor"]["components"] and "publish" not in data["endpoints"]
    state = {"root": {"props": {}}, "zones": {}, "content": [
        {"type": "Heading", "props": {"id": "a", "text": "Brand", "level": 1}},
        {"type": "PageContent", "props": {"id": "pc"}}]}
    r = api.patch(url, {"content_state": state}, caller=admin)
    assert r.status_code == 200 and r.json()["data"]["version"] == 2
    state["content"].append({"type": "PageContent", "props": {"id": "pc2"}})
    assert api.patch(url, {"content_state": state}, caller=admin).status_code == 422
