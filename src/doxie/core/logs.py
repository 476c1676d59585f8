"""Structured logs that follow one process from the web request into the workers.

Three pieces, wired once in ``settings.LOGGING``:

* **Context** (``bind``/``current``): contextvars carrying the request id, the tenant slug
  and the process uuid. ``RequestContextMiddleware`` binds them for a request; the worker
  binds them around a job. ``ContextFilter`` copies them onto every record, so the text and
  JSON formats both show them without any call site passing them.
* **Redaction** (``redact``, applied by both formatters): defence in depth behind fixed call
  sites. Anything that looks like an e-mail address, a phone number, a bearer/basic
  credential or a secret-link token is replaced in the written line (the record is left
  alone); the call sites themselves log ids and keyed hashes, never recipients or secrets.
* **JSON** (``JsonFormatter``): one object per line (``DOXIE_LOG_FORMAT=json``, the
  production default) with time, level, logger, message and the context fields.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_tenant: contextvars.ContextVar[str | None] = contextvars.ContextVar("tenant", default=None)
_process: contextvars.ContextVar[str | None] = contextvars.ContextVar("process", default=None)
_VARS = {"request_id": _request_id, "tenant": _tenant, "process": _process}
#: LogRecord attribute per field (``process`` is taken: the record's PID).
_ATTRS = {"request_id": "request_id", "tenant": "tenant", "process": "process_uuid"}


def current() -> dict[str, str | None]:
    """The context fields of this task/thread (what a job deferred now should carry)."""
    return {name: var.get() for name, var in _VARS.items()}


@contextmanager
def bind(**fields: str | None) -> Iterator[None]:
    """Set context fields (``request_id``, ``tenant``, ``process``) for the block."""
    tokens = [(_VARS[name], _VARS[name].set(value)) for name, value in fields.items()
              if name in _VARS]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def set_field(name: str, value: str | None) -> None:
    """Set one field for the rest of the current context (a request learns its tenant late)."""
    _VARS[name].set(value)


def new_request_id() -> str:
    return secrets.token_hex(16)


def accepted_request_id(value: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is a sane token, else a fresh one (a header is
    copied into every log line: it must not smuggle newlines, markup or personal data)."""
    if value and _SANE_REQUEST_ID.fullmatch(value) and "@" not in value:
        return value
    return new_request_id()


# --- redaction ----------------------------------------------------------------------------

_REDACTIONS: list[tuple[re.Pattern[str], str]] = [
    # credentials in headers or URLs
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 [redacted]"),
    (re.compile(r"(?i)\b(token|secret|password|passwd|api[_-]?key|client_secret|signature)"
                r"(\"?\s*[=:]\s*\"?)[^\s\"'&,;}]+"), r"\1\2[redacted]"),
    # secret links: /doi/<token>, /l/<token>, /s/<token>, /u/<token> and similar path tokens
    (re.compile(r"(/(?:doi|l|s|u|survey|unsubscribe|hooks/[a-z]+)/)[A-Za-z0-9_-]{16,}"),
     r"\1[redacted]"),
    # e-mail addresses and phone numbers (E.164-ish, 8+ digits)
    (re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), "[email]"),
    (re.compile(r"(?<![\w+])(?:\+|\b00)\d[\d ()/-]{6,}\d\b"), "[phone]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class TextFormatter(logging.Formatter):
    """The development format, redacted (the record itself stays untouched: other handlers,
    e.g. a test's capture, see what the call site logged)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class ContextFilter(logging.Filter):
    """Puts the request id, tenant slug and process uuid on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _VARS.items():
            if not hasattr(record, _ATTRS[name]):
                setattr(record, _ATTRS[name], var.get() or "-")
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, redacted; context fields only when known."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name, attr in _ATTRS.items():
            value = getattr(record, attr, None)
            if value and value != "-":
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = redact(record.exc_text)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = ("%(asctime)s %(levelname)s %(name)s [%(request_id)s %(tenant)s %(process_uuid)s] "
               "%(message)s")


def logging_config(*, fmt: str, level: str, procrastinate_level: str) -> dict[str, Any]:
    """The one ``LOGGING`` dict (settings passes the environment's choices)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": ContextFilter},
        },
        "formatters": {
            "text": {"()": TextFormatter, "format": TEXT_FORMAT},
            "json": {"()": JsonFormatter},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if fmt == "json" else "text",
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "procrastinate": {"level": procrastinate_level},
            "django.request": {"level": "ERROR"},
            "pgserver": {"level": "WARNING"},
            "httpx": {"level": "WARNING"},
        },
    }


# --- the request side -----------------------------------------------------------------------


class RequestContextMiddleware:
    """Accepts or makes the request id, returns it in ``X-Request-ID`` and binds the context
    (the tenant slug once the URL resolved: it is the ``tenant`` path parameter)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = accepted_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        with bind(request_id=request_id, tenant=None, process=None):
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response

    def process_view(self, request: HttpRequest, view: Any, args: Any,
                     kwargs: dict[str, Any]) -> None:
        slug = kwargs.get("tenant")
        if isinstance(slug, str) and re.fullmatch(r"[a-z0-9-]{1,64}", slug):
            set_field("tenant", slug)
