"""Publishing (E3 + the job) and serving at /p/<tenant>/<slug>: idempotent renders, ETag,
strict headers, XSS in every prop, the layout around the page, the HTML snapshot."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.db import connection

from doxie.pages import publishing
from doxie.pages.models import LandingPage, LandingPageLayout
from tests.helpers import run_jobs
from tests.pages.conftest import every_component

BASE = "/api/v1/acme/admin"
SNAPSHOT = Path(__file__).parent / "snapshots" / "every_component.html"


def _make_page(tenant, brand, state=None, layout=None, slug="welcome"):
    return LandingPage.objects.create(tenant=tenant, brand=brand, name="Welcome", slug=slug,
                                      content_state=state or every_component(), layout=layout)


def _jobs(page_id):
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'pages.publish' "
                    "AND args->>'page_id' = %s", [str(page_id)])
        return cur.fetchone()[0]


@pytest.mark.django_db
def test_publish_defers_the_job_and_job_renders_once(api, admin, tenant, brand, monkeypatch):
    page = _make_page(tenant, brand)
    r = api.post(f"{BASE}/editor/landing_pages/{page.pk}/publish", caller=admin)
    assert r.status_code == 200
    assert r.json()["data"] == {"id": page.pk, "status": "publishing"}
    assert _jobs(page.pk) == 1
    assert api.get("/p/acme/welcome").status_code == 404  # not rendered yet
    renders = []
    original = publishing.render_document
    monkeypatch.setattr(publishing, "render_document",
                        lambda **kw: renders.append(1) or original(**kw))
    assert publishing.publish(page.pk) is True
    assert publishing.publish(page.pk) is False
    assert len(renders) == 1
    page.refresh_from_db()
    assert page.status == "published" and page.published_at is not None
    shown = api.get(f"{BASE}/pages/landing_pages/{page.pk}", caller=admin).json()["data"]
    assert shown["status"] == "published" and shown["published_at"].endswith("Z")


@pytest.mark.django_db
def test_publish_of_unknown_or_foreign_page_is_404(api, admin, other_tenant, other_brand):
    foreign = _make_page(other_tenant, other_brand)
    assert api.post(f"{BASE}/editor/landing_pages/{foreign.pk}/publish",
                    caller=admin).status_code == 404
    assert api.post(f"{BASE}/editor/landing_pages/999999/publish", caller=admin).status_code == 404
    assert _jobs(foreign.pk) == 0


@pytest.mark.django_db(transaction=True)
def test_publish_through_a_real_worker(api, tenant, brand):
    from tests.helpers import make_admin_caller

    admin = make_admin_caller(tenant)
    page = _make_page(tenant, brand)
    r = api.post(f"{BASE}/editor/landing_pages/{page.pk}/publish", caller=admin)
    assert r.status_code == 200
    run_jobs()
    r = api.get("/p/acme/welcome")
    assert r.status_code == 200 and b"Hello &lt;b&gt;world&lt;/b&gt;" in r.content
    # A new save makes the next publish render again; the public page keeps the old HTML
    # until then.
    state = every_component()
    state["content"][0]["props"]["text"] = "Second"
    api.patch(f"{BASE}/editor/landing_pages/{page.pk}", {"content_state": state}, caller=admin)
    assert b"Second" not in api.get("/p/acme/welcome").content
    api.post(f"{BASE}/editor/landing_pages/{page.pk}/publish", caller=admin)
    run_jobs()
    assert b"Second" in api.get("/p/acme/welcome").content


@pytest.mark.django_db
def test_served_page_headers_etag_and_xss(api, tenant, brand, django_assert_max_num_queries):
    page = _make_page(tenant, brand)
    publishing.publish(page.pk)
    with django_assert_max_num_queries(1):
        r = api.get("/p/acme/welcome")
    assert r.status_code == 200
    csp = r["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert re.search(r"style-src 'sha256-[A-Za-z0-9+/=]+'", csp)
    assert "img-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r["X-Frame-Options"] == "DENY"
    html = r.content.decode()
    # No script anywhere; escaped text; stripped handlers and javascript: links.
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for bad in ("onclick", "onerror", "javascript:", "style=\"color"):
        assert bad not in html.lower(), bad
    assert 'href="https://example.org/x"' in html
    assert 'href="/rel?a=1&amp;b=2"' in html
    assert "--doxie-primary: #ff0000;" in html and "--doxie-radius: 8px;" in html
    # The stylesheet's hash in the CSP is the hash of the one inline <style>.
    import base64
    import hashlib
    css = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    etag = r["ETag"]
    again = api.get("/p/acme/welcome", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again["ETag"] == etag


@pytest.mark.django_db
def test_draft_unknown_and_other_tenant_are_404(api, tenant, brand, other_tenant, other_brand):
    _make_page(tenant, brand)
    other = _make_page(other_tenant, other_brand, slug="theirs")
    publishing.publish(other.pk)
    for path in ("/p/acme/welcome", "/p/acme/nope", "/p/acme/theirs", "/p/nobody/welcome"):
        r = api.get(path)
        assert r.status_code == 404, path
        assert r["X-Frame-Options"] == "DENY" and "default-src 'none'" in r[
            "Content-Security-Policy"]
    assert api.get("/p/other/theirs").status_code == 200
    assert api.post("/p/other/theirs").status_code in (403, 405)


@pytest.mark.django_db
def test_page_inside_its_layout(api, tenant, brand):
    layout = LandingPageLayout.objects.create(tenant=tenant, brand=brand, name="L", content_state={
        "root": {"props": {}}, "zones": {}, "content": [
            {"type": "Heading", "props": {"id": "lh", "text": "Brand header", "level": 1}},
            {"type": "PageContent", "props": {"id": "pc"}},
            {"type": "Text", "props": {"id": "lf", "text": "Footer"}}]})
    page = _make_page(tenant, brand, state={"root": {"props": {}}, "zones": {}, "content": [
        {"type": "Text", "props": {"id": "b", "text": "Body"}}]}, layout=layout)
    publishing.publish(page.pk)
    html = api.get("/p/acme/welcome").content.decode()
    assert html.index("Brand header") < html.index("Body") < html.index("Footer")
    # A layout change re-renders on the next publish even with the same page version.
    layout.content_state["content"][0]["props"]["text"] = "New header"
    layout.version += 1
    layout.save()
    assert publishing.publish(page.pk) is True
    assert "New header" in api.get("/p/acme/welcome").content.decode()


@pytest.mark.django_db
def test_snapshot_of_every_component(tenant, brand):
    page = _make_page(tenant, brand)
    publishing.publish(page.pk)
    page.refresh_from_db()
    if os.environ.get("DOXIE_UPDATE_SNAPSHOTS"):  # regenerate deliberately, then review
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(page.published_html)
    assert page.published_html == SNAPSHOT.read_text()


@pytest.mark.django_db
def test_published_page_html_for_other_apps(tenant, brand, other_tenant):
    from doxie.pages.selectors import published_page_html

    page = _make_page(tenant, brand)
    assert published_page_html(tenant, "welcome") is None  # draft
    assert published_page_html(tenant, "") is None
    publishing.publish(page.pk)
    found = published_page_html(tenant, "welcome")
    assert found is not None and "Hello" in found.html
    assert found.headers["X-Frame-Options"] == "DENY"
    assert published_page_html(other_tenant, "welcome") is None
