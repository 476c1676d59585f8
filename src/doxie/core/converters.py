"""The path converters every URL of ours uses for ids, slugs, UUIDs and tokens.

Why: Django's ``str`` matches anything but ``/`` (NUL, surrogates, 10 kB segments), and
``str.isdigit()``/``int()`` accept ``¹``, ``①`` and Arabic-Indic digits — ``int("١٢")`` is
12, so a lookup could silently resolve to another row. A segment these converters do not
match never reaches a view: the resolver answers 404 with the route's envelope.

Each converter hands the view a ``str`` (ninja's annotation does the typing, as its own
``uuidstr`` does), so ``{id:brand_id}`` works for ``int`` and ``str`` parameters alike.

Registered once at import (``doxie.core.apps``); use them as ``{id:x}``, ``{key:x}``,
``{uid:x}``, ``{token:x}``, ``{text:x}`` in ninja paths and ``<id:x>``… in Django's.
"""

from __future__ import annotations

from django.urls import register_converter


class _Converter:
    regex = ""

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: object) -> str:
        return str(value)


class IdConverter(_Converter):
    """Database ids: ASCII digits only, at most 18 (always inside a signed 64-bit)."""

    regex = "[0-9]{1,18}"


class KeyConverter(_Converter):
    """Slugs and short public keys (tenant, event, webhook endpoint): ASCII, ≤ 100."""

    regex = "[-a-zA-Z0-9_]{1,100}"


class UidConverter(_Converter):
    """UUIDs in the canonical 8-4-4-4-12 form, either case; handed on lower-cased."""

    regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    def to_python(self, value: str) -> str:
        return value.lower()


class TokenConverter(_Converter):
    """Secret URL tokens (``secrets.token_urlsafe``): URL-safe base64 alphabet. Up to 512,
    well above any token we make, so a mistyped or truncated link still reaches its view's
    own "unknown link" page."""

    regex = "[-a-zA-Z0-9_]{1,512}"


class TextConverter(_Converter):
    """Customer-chosen identifiers (a contact's ``customer_id``): any printable text up to
    255 characters, but no ``/``, control characters or surrogates."""

    regex = "[^/\x00-\x1f\x7f\ud800-\udfff]{1,255}"


CONVERTERS = {
    "id": IdConverter,
    "key": KeyConverter,
    "uid": UidConverter,
    "token": TokenConverter,
    "text": TextConverter,
}


def register() -> None:
    from django.urls.converters import get_converters

    known = get_converters()
    for name, converter in CONVERTERS.items():
        if name not in known:
            register_converter(converter, name)


register()
