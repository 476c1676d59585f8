"""A brand's style as public pages use it (DOI pages, QR fallback pages): every value
checked against a strict pattern, so nothing but a colour, length or font name can reach the
page's CSS, with safe defaults for whatever is unset or invalid."""

from __future__ import annotations

import re
from typing import Any

_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_RADIUS = re.compile(r"^\d{1,3}(?:\.\d{1,2})?(?:px|rem|em|%)?$")
_FONT = re.compile(r"^[A-Za-z0-9 _-]{1,100}$")
_FONT_FILE = re.compile(r"^https://[^\s'\"()\\<>]+\.(?:woff2?|ttf|otf)$")
DEFAULTS = {
    "primary": "#1f4e79",
    "secondary": "#2e75b6",
    "light": "#f4f6f8",
    "dark": "#1b1b1b",
    "radius": "6px",
    "font": "sans-serif",
}


def page_style(style: Any) -> dict[str, str]:
    """Template values for a brand ``Style`` (or None: the defaults)."""
    values = dict(DEFAULTS)
    values["font_url"] = ""
    if style is None:
        return values
    for key, attr in (
        ("primary", "primary_color"),
        ("secondary", "secondary_color"),
        ("light", "light_accent_color"),
        ("dark", "dark_accent_color"),
    ):
        value = getattr(style, attr, None) or ""
        if _COLOR.match(value):
            values[key] = value
    if _RADIUS.match(style.border_radius or ""):
        values["radius"] = style.border_radius
    families = [
        f'"{name}"'
        for name in (style.pages_font_family, style.font_family)
        if name and _FONT.match(name)
    ]
    fallback = style.fallback_font_family if _FONT.match(style.fallback_font_family or "") else ""
    values["font"] = ", ".join([*families, fallback or "sans-serif"])
    if style.pages_font_family and _FONT_FILE.match(style.pages_font_family_path or ""):
        values["font_url"] = style.pages_font_family_path
        values["font_face"] = style.pages_font_family
    return values
