"""Reads of pages, layouts and assets, always scoped to one tenant."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from doxie.core.errors import NotFound
from doxie.pages.models import Asset, LandingPage, LandingPageLayout, PageStatus


def layouts(tenant) -> QuerySet[LandingPageLayout]:  # noqa: ANN001
    return LandingPageLayout.objects.for_tenant(tenant).order_by("id")


def get_layout(tenant, layout_id: int) -> LandingPageLayout:  # noqa: ANN001
    layout = layouts(tenant).select_related("brand").filter(pk=layout_id).first()
    if layout is None:
        raise NotFound("Landing page layout not found")
    return layout


def pages(tenant) -> QuerySet[LandingPage]:  # noqa: ANN001
    return LandingPage.objects.for_tenant(tenant).order_by("id")


def get_page(tenant, page_id: int) -> LandingPage:  # noqa: ANN001
    page = pages(tenant).select_related("brand", "layout").filter(pk=page_id).first()
    if page is None:
        raise NotFound("Landing page not found")
    return page


def assets(tenant) -> QuerySet[Asset]:  # noqa: ANN001
    return Asset.objects.for_tenant(tenant).order_by("-id")


def get_asset(tenant, asset_uuid) -> Asset:  # noqa: ANN001
    asset = assets(tenant).filter(uuid=asset_uuid).first()
    if asset is None:
        raise NotFound("Asset not found")
    return asset


@dataclass(frozen=True)
class PublishedPage:
    """A published page as served: the stored HTML and the headers it must be sent with."""

    html: str
    etag: str
    style_hash: str

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Security-Policy": (
                f"default-src 'none'; style-src '{self.style_hash}'; img-src 'self'; "
                "font-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
            ),
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "ETag": self.etag,
        }


_FIELDS = ("published_html", "published_etag", "published_style_hash")


def published_page(tenant_slug: str, slug: str) -> PublishedPage | None:
    """The published page at ``/p/{tenant}/{slug}``, one query; None for drafts and unknowns."""
    row = (
        LandingPage.objects.filter(tenant__slug=tenant_slug, slug=slug)
        .exclude(published_version=None)
        .values_list(*_FIELDS)
        .first()
    )
    return PublishedPage(*row) if row else None


def published_page_html(tenant, slug: str | None) -> PublishedPage | None:  # noqa: ANN001
    """A tenant's published page for other apps' public pages, or None (built-in page).

    Surveys (thank-you page), QR codes (expired page) and consents (DOI success page) call
    this with the slug their configuration names. ``.html`` is the complete, script-free
    document; send it with ``.headers`` (CSP with the stylesheet's hash, framing denied).
    """
    if not slug:
        return None
    row = (
        LandingPage.objects.for_tenant(tenant).filter(slug=slug)
        .exclude(published_version=None)
        .values_list(*_FIELDS)
        .first()
    )
    return PublishedPage(*row) if row else None


__all__ = ["PageStatus", "PublishedPage", "published_page", "published_page_html"]
