"""PNG and SVG images of a code (segno), encoding the code's public scan URL.

The image of a code depends only on its URL, its style (copied at creation) and the size
asked for, so it never changes: responses carry a strong ETag derived from exactly those
inputs and may be cached for a year. Rendering is cached in-process too, because printers
and web pages fetch the same few images over and over.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from functools import lru_cache

import segno
from django.conf import settings

MIN_SIZE = 64
MAX_SIZE = 2048
DEFAULT_SIZE = 512
FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


def scan_url(code_uuid: str) -> str:
    return f"{settings.DOXIE_PUBLIC_URL}/qr/{code_uuid}"


@dataclass(frozen=True)
class Style:
    dark: str = "#000000"
    light: str = "#ffffff"
    error_correction: str = "m"
    border: int = 4

    @classmethod
    def of(cls, raw: dict | None) -> Style:
        raw = raw or {}
        return cls(
            dark=str(raw.get("dark") or cls.dark),
            light=str(raw.get("light") or cls.light),
            error_correction=str(raw.get("error_correction") or cls.error_correction),
            border=int(raw.get("border", cls.border)),
        )


def etag(url: str, style: Style, size: int, kind: str) -> str:
    digest = hashlib.sha256(repr((url, style, size, kind)).encode()).hexdigest()[:32]
    return f'"{digest}"'


@lru_cache(maxsize=256)
def render(url: str, style: Style, size: int, kind: str) -> bytes:
    """The image, ``size`` pixels wide at most (at least one pixel per module)."""
    code = segno.make_qr(url, error=style.error_correction)
    modules, _ = code.symbol_size(scale=1, border=style.border)
    scale = max(1, size // modules)
    out = io.BytesIO()
    code.save(out, kind=kind, scale=scale, border=style.border, dark=style.dark,
              light=style.light, **({"xmldecl": False} if kind == "svg" else {}))
    return out.getvalue()
