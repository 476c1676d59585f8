"""Server-side rendering of a validated document into one static, script-free HTML page.

Every component has a Django template (``templates/pages/components/<type>.html``) that
auto-escapes its props; RichText alone carries HTML, cleaned by nh3 here; links keep only
http(s), mailto and relative targets. Brand style arrives as CSS custom properties whose
values are each checked against a narrow pattern, never as free CSS. The inline stylesheet
is allowed by its SHA-256 in the page's CSP, so the served page needs no nonce and no
``'unsafe-inline'``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import nh3
from django.template.loader import get_template
from django.utils.safestring import mark_safe

from doxie.pages.components import Node

_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_RADIUS = re.compile(r"^\d{1,3}(?:\.\d{1,2})?(?:px|rem|em|%)?$")
_FONT = re.compile(r"^[A-Za-z0-9 _-]{1,100}$")
_DEFAULTS = {
    "primary": "#1f4e79", "secondary": "#2e75b6", "light": "#f4f6f8", "dark": "#1b1b1b",
    "radius": "6px",
}
RICH_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "s", "a", "ul", "ol", "li", "h2", "h3", "h4",
    "blockquote", "code", "pre", "hr", "span",
}
URL_SCHEMES = {"http", "https", "mailto"}


def safe_href(value: str) -> str:
    """The link when it is http(s), mailto or relative; otherwise empty (no link)."""
    value = value.strip()
    if not value or any(ord(c) < 33 for c in value):
        return ""
    scheme = urlsplit(value).scheme.lower()
    if scheme and scheme not in URL_SCHEMES:
        return ""
    if not scheme and value.startswith("//"):
        return ""  # protocol-relative: another origin without saying so
    return value


def clean_rich_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=RICH_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def brand_variables(style) -> str:  # noqa: ANN001 - brands.Style or None
    values = dict(_DEFAULTS)
    font = "system-ui, sans-serif"
    if style is not None:
        for key, attr in (("primary", "primary_color"), ("secondary", "secondary_color"),
                          ("light", "light_accent_color"), ("dark", "dark_accent_color")):
            value = getattr(style, attr, None) or ""
            if _COLOR.match(value):
                values[key] = value
        if _RADIUS.match(style.border_radius or ""):
            values["radius"] = style.border_radius
        names = [f'"{n}"' for n in (style.pages_font_family, style.font_family)
                 if n and _FONT.match(n)]
        fallback = style.fallback_font_family or ""
        fallback = fallback if _FONT.match(fallback) else ""
        font = ", ".join([*names, fallback or "sans-serif"])
    lines = [f"--doxie-{k}: {v};" for k, v in values.items()]
    lines.append(f"--doxie-font: {font};")
    return ":root{" + "".join(lines) + "}"


@dataclass
class Rendered:
    html: str
    style_hash: str


class Renderer:
    """Renders nodes with templates loaded once per renderer (one per publish)."""

    def __init__(self, asset_urls: dict[str, str]) -> None:
        self.asset_urls = asset_urls
        self._templates: dict[str, object] = {}

    def _template(self, kind: str):
        if kind not in self._templates:
            self._templates[kind] = get_template(f"pages/components/{kind}.html")
        return self._templates[kind]

    def nodes(self, nodes: list[Node], page_content: str = "") -> str:
        return "".join(self.node(n, page_content) for n in nodes)

    def node(self, node: Node, page_content: str) -> str:
        if node.type == "PageContent":
            return page_content
        props = node.props.model_dump()
        context: dict[str, object] = {"props": props}
        if node.type == "RichText":
            context["html"] = mark_safe(clean_rich_html(props["html"]))  # noqa: S308 - nh3
        elif node.type == "Button":
            context["href"] = safe_href(props["href"])
        elif node.type == "Image":
            context["src"] = self.asset_urls.get(props["asset_id"], "")
        for name, children in node.slots.items():
            context[name] = mark_safe(self.nodes(children, page_content))  # noqa: S308
        return self._template(node.type).render(context)


def render_document(*, title: str, body_nodes: list[Node], layout_nodes: list[Node] | None,
                    style, asset_urls: dict[str, str], lang: str = "de") -> Rendered:  # noqa: ANN001
    renderer = Renderer(asset_urls)
    body = renderer.nodes(body_nodes)
    if layout_nodes is not None:
        body = renderer.nodes(layout_nodes, page_content=body)
    css = brand_variables(style) + get_template("pages/page.css").render({})
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    html = get_template("pages/page.html").render(
        {"title": title, "body": mark_safe(body), "css": mark_safe(css), "lang": lang}  # noqa: S308
    )
    return Rendered(html=html, style_hash=f"sha256-{digest}")
