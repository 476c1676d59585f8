"""Rendering of tenant-authored DOI templates, and HTML sanitizing for public pages.

Templates are written by tenants, so they render in the one tenant sandbox
(``doxie.core.sandbox``: no access to Python internals, every intermediate value bounded
before it is built, output capped, a time limit). The context is fixed and small:
``confirmation_url``, ``customer_id``, ``purpose_name``. Undefined names render empty (a DOI
must still go out when a tenant misspells an optional variable).

``confirmation_url`` is rendered as its placeholder (``REDACTED_URL``), never as the secret
link: what is stored, shown and sent to webhooks is the redacted message, and delivery fills
in the link only in the provider's copy (``doxie.messaging.secret_links``).

A template that does not compile or fails with a sample context is rejected when it is
configured (``template_problem``); one that still fails at P1 time (a customer id that
breaks it) raises ``DoiRenderError``, which P1 answers with a 422.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import nh3
from jinja2 import Template, TemplateError, TemplateSyntaxError

from doxie.core import sandbox

#: What stored messages and the ledger show instead of the secret confirmation link.
REDACTED_URL = "{{ confirmation_url }}"
#: Largest rendered DOI part (subject, HTML, text, SMS).
MAX_OUTPUT = 256 * 1024
#: The context a configured template is tried with.
SAMPLE_CONTEXT = {
    "confirmation_url": "https://doxie.example/doi/sample-token",
    "customer_id": "sample-customer-1234567890",
    "purpose_name": "Sample purpose",
}


class DoiRenderError(Exception):
    """A DOI template failed to render; ``str()`` names the part and is safe to show."""

_SAFE_TAGS = {
    "a", "b", "blockquote", "br", "div", "em", "h1", "h2", "h3", "h4", "hr", "i", "img", "li",
    "ol", "p", "small", "span", "strong", "u", "ul",
}
_SAFE_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}


@lru_cache(maxsize=512)
def _compiled(source: str, autoescape: bool) -> Template:
    # Templates change rarely and P1 renders the same ones constantly: compile once.
    return sandbox.environment(autoescape=autoescape).from_string(source)


def compile_error(source: str, *, html: bool = False) -> str | None:
    """Why ``source`` is not a valid template, or None."""
    try:
        _compiled(source, html)
    except TemplateSyntaxError as exc:
        return f"template error on line {exc.lineno}: {exc.message}"
    return None


def template_problem(source: str, *, html: bool = False) -> str | None:
    """``compile_error``, then a trial render with ``SAMPLE_CONTEXT`` (configuration)."""
    if error := compile_error(source, html=html):
        return error
    try:
        render(source, SAMPLE_CONTEXT, html=html)
    except DoiRenderError as exc:
        return f"template fails with a sample context: {exc}"
    return None


def render(source: str, context: dict[str, Any], *, html: bool = False, what: str = "") -> str:
    """Render in the sandbox; every failure becomes a ``DoiRenderError``."""
    prefix = f"{what}: " if what else ""
    try:
        return sandbox.render(_compiled(source, html), context, max_output=MAX_OUTPUT)
    except TemplateError as exc:  # sandbox.LimitExceeded included
        raise DoiRenderError(f"{prefix}{exc.message or type(exc).__name__}") from None
    except Exception as exc:  # a filter or operator on the wrong type (TypeError, …)
        raise DoiRenderError(f"{prefix}{type(exc).__name__}: {exc}") from None


def redacted_context(customer_id: str, purpose_name: str) -> dict[str, str]:
    """The P1 context: the confirmation link is its placeholder (see the module docstring)."""
    return {
        "confirmation_url": REDACTED_URL, "customer_id": customer_id,
        "purpose_name": purpose_name,
    }


def sanitize_html(value: str) -> str:
    """Tenant HTML for public pages: formatting and links only, no scripts or styles."""
    if not value:
        return ""
    return nh3.clean(
        value, tags=_SAFE_TAGS, attributes=_SAFE_ATTRIBUTES, url_schemes={"http", "https"}
    )


def template_sha256(*parts: str) -> str:
    """Identifies the template version a message was rendered from (kept in the ledger)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


def _fallback_text(purpose_name: str, url: str) -> str:
    return (
        f"{purpose_name}\n\nBitte bestätigen Sie Ihre Einwilligung über diesen Link:\n{url}\n"
    )


def render_email(purpose, context: dict[str, str]) -> RenderedEmail:
    """Subject, HTML and text of the DOI email; a text part is derived when none is set."""
    subject = render(purpose.doi_email_subject, context, what="subject").strip()
    body_html = render(purpose.doi_email_html, context, html=True, what="html")
    if purpose.doi_email_text:
        text = render(purpose.doi_email_text, context, what="text")
    else:
        text = _fallback_text(context["purpose_name"], context["confirmation_url"])
    return RenderedEmail(subject=" ".join(subject.split()), html=body_html, text=text)


def render_sms(purpose, context: dict[str, str]) -> str:
    return render(purpose.doi_sms_text, context, what="text").strip()


def shown_email_text(sender: str, sender_name: str, email: RenderedEmail) -> str:
    """The message as the person saw it, in one stable text form; it was rendered with the
    placeholder, so it holds no secret link."""
    sender_line = f"{sender_name} <{sender}>" if sender_name else sender
    return (
        f"From: {sender_line}\nSubject: {email.subject}\n\n{email.text}\n"
        f"--- text/html ---\n{email.html}"
    )
