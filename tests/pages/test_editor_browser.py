"""The real bundle in headless Chromium: open the editor from the admin, add a Heading,
type, save, publish, open the public page."""

from __future__ import annotations

import re

import pytest

from doxie.pages.models import LandingPage
from tests.consents.browser import ARGS, CHROMIUM, require_chromium
from tests.helpers import run_jobs

pytestmark = pytest.mark.django_db(transaction=True)


def _drive(base: str, username: str, password: str, page_id: int) -> dict:
    from playwright.sync_api import expect, sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{base}/admin/login/?next=/admin/")
            page.fill("#id_username", username)
            page.fill("#id_password", password)
            page.click("input[type=submit]")
            page.goto(f"{base}/admin/pages/landingpage/{page_id}/change/")
            page.get_by_role("link", name="Open editor").click()
            page.wait_for_selector("text=Heading", timeout=20000)
            # Drag the Heading from the component list onto the canvas.
            # (dnd-kit needs real pointer movement, so the mouse moves in steps.)
            source = page.locator("[data-puck-drawer-item]", has_text="Heading").first
            target = page.locator("[data-puck-dropzone]").first
            start, end = source.bounding_box(), target.bounding_box()
            page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
            page.mouse.down()
            x, y = end["x"] + end["width"] / 2, end["y"] + min(end["height"] / 2, 40)
            page.mouse.move(start["x"] + 30, start["y"] + 30, steps=5)
            page.mouse.move(x, y, steps=25)
            page.wait_for_timeout(300)
            page.mouse.move(x + 2, y + 2, steps=3)
            page.mouse.up()
            page.wait_for_selector("[data-puck-component]", timeout=10000)
            page.locator("[data-puck-component]").first.click()
            field = page.locator("input[name='text']:visible").first
            field.fill("Hello from Chromium")
            page.wait_for_timeout(300)
            page.click("#doxie-save")
            expect(page.locator("#doxie-status")).to_have_text(re.compile("^Saved"), timeout=10000)
            saved = page.inner_text("#doxie-status")
            page.click("#doxie-publish")
            expect(page.locator("#doxie-status")).to_have_text(re.compile("^Publishing"),
                                                               timeout=10000)
            return {"saved": saved, "errors": errors}
        finally:
            browser.close()


def _public(url: str) -> tuple[int, str, list[str]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            violations: list[str] = []
            page.on("console", lambda m: violations.append(m.text))
            response = page.goto(url)
            return response.status, page.inner_text("h2"), violations
        finally:
            browser.close()


def test_edit_save_publish_and_view(live_server, settings, tenant):
    from django.contrib.auth import get_user_model

    from doxie.brands import services as brands
    from doxie.tenants import services as tenants

    settings.DOXIE_PUBLIC_URL = live_server.url
    user = get_user_model().objects.create_user("editor", password="Editor-Pass-123!",
                                                is_staff=True, is_superuser=True)
    tenants.grant_membership(tenant=tenant, user=user, can_read=True, can_write=True)
    brand = brands.create_brand(tenant=tenant, attributes={"name": "Acme", "slug": "acme"})
    row = LandingPage.objects.create(tenant=tenant, brand=brand, name="Welcome", slug="welcome")
    result = _drive(live_server.url, "editor", "Editor-Pass-123!", row.pk)
    assert result["saved"].startswith("Saved (version 2)"), result
    row.refresh_from_db()
    assert row.content_state["content"][0]["type"] == "Heading"
    assert row.content_state["content"][0]["props"]["text"] == "Hello from Chromium"
    assert row.status == "publishing"
    run_jobs()
    status, heading, console = _public(f"{live_server.url}/p/acme/welcome")
    assert status == 200 and heading == "Hello from Chromium"
    assert not [c for c in console if "Content Security Policy" in c], console
    assert not [e for e in result["errors"] if "Content Security Policy" in e], result["errors"]
