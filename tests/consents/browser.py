"""Headless Chromium (the system's, driven by Playwright) acting as a person on a DOI link.

Playwright's own browser download is not used: the machine's Chromium is launched directly.
The sync API keeps an event loop running in this thread while it is open, so every use is
wrapped in one function that returns plain data; database checks happen after it closed.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import pytest

CHROMIUM = os.environ.get("DOXIE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def require_chromium() -> None:
    """Fail loudly (not skip) when the browser is missing: the test is part of the contract."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.fail("the browser tests need the 'playwright' package (pip install playwright)")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")


@dataclass
class Visit:
    first_status: int
    first_text: str
    final_status: int
    final_text: str
    final_url: str
    user_agent: str
    clicked: bool


def visit(url: str, *, click: bool = True) -> Visit:
    """Open ``url`` like a person; press "Jetzt bestätigen" when it is offered and ``click``."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            response = page.goto(url)
            first_status, first_text = response.status, page.inner_text("body")
            user_agent = page.evaluate("navigator.userAgent")
            button = page.get_by_role("button", name="Jetzt bestätigen")
            clicked = False
            final_status = first_status
            if click and button.count():
                with page.expect_navigation() as navigation:
                    button.click()
                final_status = navigation.value.status
                clicked = True
            return Visit(first_status, first_text, final_status, page.inner_text("body"),
                         page.url, user_agent, clicked)
        finally:
            browser.close()
