"""Tenant templates -> message content: sandboxed Jinja2, recipients, text parts, tracked links.

Why each rule:

* Templates are written by tenants, so they render in Jinja2's sandbox (no attribute access
  to Python internals) with ``StrictUndefined``: a payload that lacks a variable is an error
  the caller sees in the template's result, never a message with a silent blank.
* HTML is autoescaped (a payload value ``<script>`` arrives as text); subject, text and the
  recipient expression are not HTML and are rendered without escaping.
* Templates render in the one tenant sandbox (``doxie.core.sandbox``): every intermediate
  string, list and range is bounded before it is built, output is capped while it is
  collected and a render has a time limit, so one template cannot exhaust a worker.
* Compiled templates are cached by source: the Mailer renders the same few sources for every
  request, and compiling is far costlier than rendering.
* Only absolute ``http(s)`` links are rewritten for click tracking: ``mailto:``, ``tel:``,
  in-page anchors and provider placeholders such as ``[[UNSUB_LINK_DE]]`` must keep working.
"""

from __future__ import annotations

import html as html_lib
import re
import secrets
from collections.abc import Callable
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from jinja2 import StrictUndefined, Template, TemplateError

from doxie.core import sandbox

#: Messages one template may create per request (one per recipient).
MAX_RECIPIENTS = 1_000
#: Separators between addresses in a rendered recipient expression.
_RECIPIENT_SPLIT = re.compile(r"[,;\s]+")
_PHONE_NOISE = re.compile(r"[\s()./-]")


class RenderError(Exception):
    """A template could not be rendered with this payload; ``str()`` is safe for the tenant."""


class InvalidRecipient(Exception):
    """A rendered recipient is not a usable email address / phone number."""


_TEXT_ENV = sandbox.environment(autoescape=False, undefined=StrictUndefined)
_HTML_ENV = sandbox.environment(autoescape=True, undefined=StrictUndefined)


@lru_cache(maxsize=4096)
def compile_template(source: str, html: bool = False) -> Template:
    """The compiled template (cached); raises ``jinja2.TemplateSyntaxError``."""
    return (_HTML_ENV if html else _TEXT_ENV).from_string(source)


def syntax_error(source: str, *, html: bool = False) -> str | None:
    """None when ``source`` compiles, else a one-line description (config validation)."""
    try:
        compile_template(source, html)
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        return f"template syntax error{f' on line {line}' if line else ''}: {exc.message}"
    return None


def render(source: str, context: dict[str, Any], *, html: bool = False, what: str = "") -> str:
    """Render ``source``; every failure becomes a RenderError naming the field."""
    prefix = f"{what}: " if what else ""
    if not source:
        return ""
    try:
        return sandbox.render(compile_template(source, html), context)
    except TemplateError as exc:  # sandbox.LimitExceeded included
        raise RenderError(f"{prefix}{exc.message or type(exc).__name__}") from None
    except Exception as exc:  # a filter or operator on the wrong type (TypeError, …)
        raise RenderError(f"{prefix}{type(exc).__name__}: {exc}") from None


def render_json(value: Any, context: dict[str, Any], *, what: str = "content") -> Any:
    """Render every string inside a JSON value (RCS content: text, suggestions, …)."""
    if isinstance(value, str):
        return render(value, context, what=what)
    if isinstance(value, list):
        return [render_json(item, context, what=what) for item in value]
    if isinstance(value, dict):
        return {k: render_json(item, context, what=f"{what}.{k}") for k, item in value.items()}
    return value


def one_line(value: str) -> str:
    """Subjects and names are header values: line breaks would be header injection."""
    return " ".join(value.split())


# --- recipients -----------------------------------------------------------------------------


def split_recipients(rendered: str) -> list[str]:
    """``"a@x.de, b@y.de"`` -> both, in order, without duplicates or blanks."""
    return list(dict.fromkeys(part for part in _RECIPIENT_SPLIT.split(rendered) if part))


def normalize_email(value: str) -> str:
    """RFC syntax check (no DNS: a lookup per request is slow and flaky); lower-cased."""
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidRecipient(f"{value!r} is not a valid email address ({exc})") from None
    return result.normalized.lower()


def normalize_phone(value: str) -> str:
    """E.164 (``+491771234567``); ``0049…`` is accepted. National numbers are refused
    rather than guessed: a wrong country code sends the message to a stranger."""
    compact = _PHONE_NOISE.sub("", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    error = InvalidRecipient(f"{value!r} is not an international phone number (E.164)")
    if not compact.startswith("+") or not (compact[1:].isascii() and compact[1:].isdigit()):
        raise error
    try:
        parsed = phonenumbers.parse(compact, None)
    except phonenumbers.NumberParseException:
        raise error from None
    if not phonenumbers.is_possible_number(parsed):
        raise error
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def recipients(
    expression: str, context: dict[str, Any], normalize: Callable[[str], str]
) -> list[str]:
    """Render a recipient expression and normalise every address in it."""
    rendered = render(expression, context, what="to")
    addresses = split_recipients(rendered)
    if not addresses:
        raise InvalidRecipient("the recipient expression rendered no address")
    if len(addresses) > MAX_RECIPIENTS:
        raise InvalidRecipient(
            f"the recipient expression rendered {len(addresses)} addresses "
            f"(at most {MAX_RECIPIENTS} per template and request)"
        )
    return list(dict.fromkeys(normalize(address) for address in addresses))


# --- links ----------------------------------------------------------------------------------

_HREF = re.compile(
    r"""(<a\b[^>]*?\shref\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""",
    re.IGNORECASE | re.DOTALL,
)


def new_link_token() -> str:
    return secrets.token_urlsafe(16)


def rewrite_links(html: str, base_url: str) -> tuple[str, dict[str, str]]:
    """Point every http(s) ``<a href>`` at ``{base_url}/l/<token>``.

    Returns the new HTML and ``{token: original URL}``; the same URL twice in one message
    shares a token (one TrackedLink row).
    """
    tokens: dict[str, str] = {}  # url -> token

    def replace(match: re.Match[str]) -> str:
        raw = next(group for group in match.groups()[1:] if group is not None)
        url = html_lib.unescape(raw).strip()
        if not url.lower().startswith(("http://", "https://")):
            return match.group(0)
        token = tokens.setdefault(url, new_link_token())
        return f'{match.group(1)}"{html_lib.escape(f"{base_url}/l/{token}")}"'

    rewritten = _HREF.sub(replace, html)
    return rewritten, {token: url for url, token in tokens.items()}


# --- text part ------------------------------------------------------------------------------

_BLOCKS = frozenset(
    "p div section article header footer main aside nav table tr ul ol blockquote pre hr "
    "h1 h2 h3 h4 h5 h6 address figure form".split()
)
_HIDDEN = frozenset({"script", "style", "head", "title", "template", "noscript"})


class _TextExtractor(HTMLParser):
    """Readable plain text: blocks become paragraphs, list items dashes, links ``text (url)``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.links: list[tuple[str, int]] = []  # (href, index in parts where its text starts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in _BLOCKS or tag == "td":
            self.parts.append("\n\n" if tag in _BLOCKS else " ")
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.parts)))
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt and not self.hidden:
                self.parts.append(alt)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = " ".join("".join(self.parts[start:]).split())
            if href.lower().startswith(("http://", "https://")) and href != label:
                self.parts.append(f" ({href})" if label else href)

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = [line.strip() for line in "".join(self.parts).split("\n")]
        text = "\n".join(lines)
        return re.sub(r"\n{3,}", "\n\n", text).strip()


def html_to_text(html: str) -> str:
    """The text/plain alternative for an email whose template has only HTML."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.text()


# --- conditions (journeys' `if`) ---------------------------------------------------------------

# Conditions run in the one tenant sandbox; a payload key that is missing is undefined
# (falsy), not an error, so `plan == 'pro'` is simply false for a payload without a plan.
_CONDITION_ENV = sandbox.environment(autoescape=False)


@lru_cache(maxsize=1024)
def compile_condition(source: str) -> Template:
    """The condition as a sandboxed template answering "1" or "". Parsed as a pure
    expression first, so no template tag can be smuggled in; raises ``TemplateError``."""
    _CONDITION_ENV.compile_expression(source)
    return _CONDITION_ENV.from_string("{% if (" + source + ") %}1{% endif %}")


def condition_error(source: str) -> str | None:
    """None when ``source`` is a valid expression, else a one-line reason."""
    if not isinstance(source, str) or not source.strip():
        return "must be a non-empty expression"
    try:
        compile_condition(source)
    except TemplateError as exc:
        return f"invalid expression: {exc.message}"
    return None


def evaluate_condition(source: str, context: dict[str, Any]) -> bool:
    """The expression's truth over ``context``; raises ``RenderError`` when it fails."""
    try:
        return sandbox.render(compile_condition(source), context) == "1"
    except TemplateError as exc:
        raise RenderError(f"condition failed: {exc.message or type(exc).__name__}") from None
    except Exception as exc:  # a filter or operator on the wrong type (TypeError, …)
        raise RenderError(f"condition failed: {type(exc).__name__}: {exc}") from None
