"""The one validator for URLs a tenant configures (redirect targets, webhook endpoints, ...).

A tenant URL ends up in a ``Location`` header, an ``href`` or an outbound request, so it is
held to one shape everywhere: an absolute ``http``/``https`` URL with a valid host, no
credentials, no whitespace or control/format characters anywhere (they hide the real
target from people reading the URL and are where header and log injection start), and at
most :data:`MAX_URL_LENGTH` characters. Outbound URLs add the SSRF policy on top
(:func:`doxie.core.http.validate_url_syntax`); this module knows nothing about addresses.

Callers turn the message into their own error shape (a 422 field error naming the field,
a form error, an ``apply_config`` problem line).
"""

from __future__ import annotations

import unicodedata

import httpx

from doxie.core.ssrf import is_hostname, literal_ip

MAX_URL_LENGTH = 2048
# Cc control, Cf format (zero-width, bidi overrides), Cs lone surrogates, Z* separators.
_FORBIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Zs", "Zl", "Zp")


def url_error(url: object, *, max_length: int = MAX_URL_LENGTH) -> str | None:
    """Why ``url`` is not an acceptable tenant URL, or None."""
    if not isinstance(url, str) or not url:
        return "must be a non-empty URL"
    if len(url) > max_length:
        return f"must be at most {max_length} characters long"
    if any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in url):
        return "must not contain whitespace or control characters"
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        return f"is not a valid URL: {exc}"
    if parsed.scheme not in ("http", "https"):
        shown = f" (scheme {parsed.scheme!r} is not allowed)" if parsed.scheme else ""
        return f"must be an absolute http(s) URL{shown}"
    if parsed.userinfo:
        return "must not contain credentials (user:password@)"
    host = parsed.raw_host.decode("ascii").lower()
    if not host:
        return "must have a host"
    if parsed.port is not None and not 0 < parsed.port < 65536:
        return f"has an invalid port {parsed.port}"
    if literal_ip(host) is None and not is_hostname(host):
        return f"has an invalid host name {host!r}"
    return None
