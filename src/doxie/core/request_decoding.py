"""The one place where client bytes become Python values: JSON bodies, form bodies, query
strings, paths and header values.

Why it exists: PostgreSQL ``text`` and ``jsonb`` reject ``\\u0000``, JSON and UTF-8 cannot
carry lone surrogates, ``jsonb`` has no ``NaN``/``Infinity`` (``1e999`` parses to ``inf``),
and Python's recursive JSON decoder raises ``RecursionError`` on deep nesting. Each of
those used to travel from a request into a view, a query or a job and come back as a 500.
Everything here fails with :class:`MalformedInput` (status 400, or 422 with the offending
field) *before* any view runs; ``core.middleware`` turns it into the route's envelope and
the API's parser reuses the already decoded JSON.

Rules (see docs/security.md, "Input handling"):

* text anywhere: no NUL, no lone surrogate, valid UTF-8;
* JSON: RFC 8259 only (no ``NaN``/``Infinity``), finite floats, integers within 64 bits,
  nesting at most :data:`MAX_DEPTH` deep (checked by a linear scan before parsing, so a
  100 000-deep body costs one pass and never reaches the recursive parser).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from ninja.parser import Parser

#: Deepest array/object nesting a JSON body may have. Our schemas need four or five levels;
#: free-form payloads (template variables, provider events) get generous room above that.
MAX_DEPTH = 64
#: Integers outside a signed 64-bit range cannot be ids, counts or anything we store.
MAX_INT = 2**63 - 1

_SURROGATE = re.compile("[\ud800-\udfff]")
# Strings (with their escapes) are skipped when counting brackets, so '"[[["' is depth 0.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


@dataclass
class MalformedInput(Exception):
    """Client input we refuse before it reaches a view. 422s carry ``details`` naming the
    JSON path (``data.name``); 400s are about the request as a whole."""

    status: int
    message: str
    details: list[dict[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if _SURROGATE.search(value):
        return "must not contain unpaired surrogates"
    return None


def check_text(value: str, what: str, status: int = 400) -> None:
    problem = text_problem(value)
    if problem is not None:
        raise MalformedInput(status, f"{what} {problem}")


def _utf8(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")  # strict: encoded surrogates (ED A0 80) are invalid too
    except UnicodeDecodeError as exc:
        raise MalformedInput(400, f"{what} is not valid UTF-8") from exc


# -- URLs -------------------------------------------------------------------------------


def check_percent_encoded(raw: str, what: str) -> None:
    """A raw (still percent-encoded) path or query string: its bytes must be UTF-8 text
    without NUL or surrogates. ``+`` needs no care: it decodes to a space."""
    if "%" not in raw and raw.isascii():
        if "\x00" in raw:
            raise MalformedInput(400, f"{what} must not contain NUL characters")
        return
    decoded = _utf8(unquote_to_bytes(raw.encode("utf-8", "surrogatepass")), what)
    check_text(decoded, what)


def check_query_string(raw: str) -> None:
    check_percent_encoded(raw, "Query string")


def check_path(path: str) -> None:
    """``request.path`` is already decoded (a WSGI server re-quotes invalid UTF-8, an ASGI
    server replaces it); what is left to refuse is NUL and surrogates."""
    check_text(path, "Path")


#: Decoded by their own total decoder, which answers 401 with ``WWW-Authenticate`` (the
#: contract's answer to bad credentials) rather than this layer's 400.
_OWN_DECODER = frozenset({"authorization"})


def check_headers(headers: Iterable[tuple[str, str]]) -> None:
    for name, value in headers:
        if name.lower() in _OWN_DECODER:
            continue
        problem = text_problem(value)
        if problem is not None:
            raise MalformedInput(400, f"Header {name} {problem}")


# -- Form bodies ------------------------------------------------------------------------


def check_form_body(body: bytes) -> None:
    """``application/x-www-form-urlencoded``: every key and value decodes to clean UTF-8."""
    for pair in body.split(b"&"):
        if not pair:
            continue
        check_percent_encoded(_ascii_or_raise(pair).replace("+", " "), "Form field")


def _ascii_or_raise(raw: bytes) -> str:
    # A urlencoded body is ASCII by definition; raw non-ASCII bytes must still be UTF-8.
    return raw.decode("ascii") if raw.isascii() else _utf8(raw, "Form field")


def check_form_fields(items: Iterable[tuple[str, list[Any]]]) -> None:
    """Parsed multipart text fields (files are not text and are left to their views)."""
    for key, values in items:
        check_text(key, "Form field name")
        for value in values:
            if isinstance(value, str):
                check_text(value, f"Form field {key[:50]}")


# -- JSON -------------------------------------------------------------------------------


def json_depth(body: bytes) -> int:
    """Deepest bracket nesting, ignoring brackets inside strings: one linear pass, no
    recursion, whatever the input."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub(b'""', body)):
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return deepest
        else:
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> Any:
    raise MalformedInput(400, f"Malformed JSON body: {name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise MalformedInput(400, f"Malformed JSON body: number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 19 or abs(value := int(text)) > MAX_INT:
        raise MalformedInput(400, f"Malformed JSON body: number {text[:40]} is out of range")
    return value


def decode_json(body: bytes | str) -> Any:
    """Parse a JSON body under the rules above; :class:`MalformedInput` otherwise."""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if json_depth(raw) > MAX_DEPTH:
        raise MalformedInput(400, f"Malformed JSON body: nested deeper than {MAX_DEPTH}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedInput(400, "Malformed JSON body: not valid UTF-8") from exc
    try:
        value = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except MalformedInput:
        raise
    except (ValueError, RecursionError) as exc:
        raise MalformedInput(400, "Malformed JSON body") from exc
    _check_json_text(value)
    return value


def _check_json_text(value: Any) -> None:
    """Every key and string value is storable text; the first offender is a 422 naming its
    path (iterative: the depth bound already holds, but nothing here recurses anyway)."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            _check_json_string(item, where or "body")
        elif isinstance(item, dict):
            for key, child in item.items():
                path = f"{where}.{key}" if where else key
                _check_json_string(key, path, is_key=True)
                stack.append((path, child))
        elif isinstance(item, list):
            stack.extend((f"{where}.{i}" if where else str(i), c) for i, c in enumerate(item))


def _check_json_string(value: str, where: str, is_key: bool = False) -> None:
    problem = text_problem(value)
    if problem is None:
        return
    # The path itself may carry the bad character: show it escaped.
    shown = where.encode("unicode_escape").decode("ascii")[:200]
    message = f"{'key ' if is_key else ''}{problem}"
    raise MalformedInput(
        422, f"Validation failed: {shown}: {message}", [{"field": shown, "message": message}],
    )


# -- Per request ------------------------------------------------------------------------

_UNSET = object()


def decoded_json(request: Any) -> Any:
    """The request's JSON body, decoded once under these rules and kept on the request, so
    the middleware's check, the API parser and the provider hooks share one parse."""
    cached = getattr(request, "_doxie_json", _UNSET)
    if cached is _UNSET:
        cached = decode_json(request.body)
        request._doxie_json = cached
    return cached


class JsonParser(Parser):
    """django-ninja's body and query parser, through the rules above."""

    def parse_body(self, request: Any) -> Any:
        return decoded_json(request)

    def parse_querydict(self, data: Any, list_fields: list[str], request: Any) -> Any:
        for key, values in data.lists():
            check_text(key, "Query parameter name")
            for value in values:
                if isinstance(value, str):
                    check_text(value, f"Query parameter {key[:50]}")
        return super().parse_querydict(data, list_fields, request)
