"""Rendering of tenant-authored DOI templates, and HTML sanitizing for public pages.

Templates are written by tenants, so they run in Jinja2's sandbox (no attribute access to
Python internals). The context is fixed and small: ``confirmation_url``, ``customer_id``,
``purpose_name``. Undefined names render empty (a DOI must still go out when a tenant
misspells an optional variable), but a template that does not compile is rejected when it
is configured, never at send time.
"""

from __future__ import annotations

import hashlib
import html as html_lib
from dataclasses import dataclass
from functools import lru_cache

import nh3
from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

#: Placeholder stored in the ledger instead of the secret confirmation link.
REDACTED_URL = "{{ confirmation_url }}"

_SAFE_TAGS = {
    "a", "b", "blockquote", "br", "div", "em", "h1", "h2", "h3", "h4", "hr", "i", "img", "li",
    "ol", "p", "small", "span", "strong", "u", "ul",
}
_SAFE_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}


@lru_cache(maxsize=2)
def _env(autoescape: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=autoescape, keep_trailing_newline=True)


@lru_cache(maxsize=512)
def _compiled(source: str, autoescape: bool):
    # Templates change rarely and P1 renders the same ones constantly: compile once.
    return _env(autoescape).from_string(source)


def compile_error(source: str, *, html: bool = False) -> str | None:
    """Why ``source`` is not a valid template, or None."""
    try:
        _env(html).parse(source)
    except TemplateSyntaxError as exc:
        return f"template error on line {exc.lineno}: {exc.message}"
    return None


def render(source: str, context: dict[str, str], *, html: bool = False) -> str:
    return _compiled(source, html).render(**context)


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
    subject = render(purpose.doi_email_subject, context).strip()
    body_html = render(purpose.doi_email_html, context, html=True)
    if purpose.doi_email_text:
        text = render(purpose.doi_email_text, context)
    else:
        text = _fallback_text(context["purpose_name"], context["confirmation_url"])
    return RenderedEmail(subject=" ".join(subject.split()), html=body_html, text=text)


def render_sms(purpose, context: dict[str, str]) -> str:
    return render(purpose.doi_sms_text, context).strip()


def redact(value: str, url: str) -> str:
    """Replace the secret link (and its HTML-escaped form) with a placeholder."""
    if not value:
        return value
    for form in {url, html_lib.escape(url)}:
        value = value.replace(form, REDACTED_URL)
    return value


def shown_email_text(sender: str, sender_name: str, email: RenderedEmail, url: str) -> str:
    """The message as the person saw it, in one stable text form, without the secret link."""
    sender_line = f"{sender_name} <{sender}>" if sender_name else sender
    return redact(
        f"From: {sender_line}\nSubject: {email.subject}\n\n{email.text}\n"
        f"--- text/html ---\n{email.html}",
        url,
    )
