"""Request and response schemas of the pages and editor API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Schema
from pydantic import ConfigDict, Field, StringConstraints

from doxie.core.pagination import PaginationOut
from doxie.core.timefmt import isoformat_z

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")]
PositiveId = Annotated[int, Field(ge=1, le=2**62)]


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class LayoutIn(_In):
    name: Name
    brand_id: PositiveId


class LayoutPatchIn(_In):
    name: Name | None = None
    brand_id: PositiveId | None = None


class LayoutWrite(_In):
    pages_landing_page_layout: LayoutIn


class LayoutPatch(_In):
    pages_landing_page_layout: LayoutPatchIn


class PageIn(_In):
    name: Name
    slug: Slug
    brand_id: PositiveId
    layout_id: PositiveId | None = None


class PagePatchIn(_In):
    name: Name | None = None
    slug: Slug | None = None
    brand_id: PositiveId | None = None
    layout_id: PositiveId | None = None


class PageWrite(_In):
    pages_landing_page: PageIn


class PagePatch(_In):
    pages_landing_page: PagePatchIn


class ContentIn(_In):
    content_state: dict[str, Any]


class LayoutOut(Schema):
    id: int
    name: str
    brand_id: int
    version: int
    created_at: str
    updated_at: str


class LayoutList(Schema):
    pages_landing_page_layouts: list[LayoutOut]
    pagination: PaginationOut


class PageOut(Schema):
    id: int
    name: str
    slug: str
    brand_id: int
    layout_id: int | None
    version: int
    status: str
    published_version: int | None
    published_at: str | None
    url: str
    created_at: str
    updated_at: str


class PageList(Schema):
    pages_landing_pages: list[PageOut]
    pagination: PaginationOut


class PublishOut(Schema):
    id: int
    status: str


class AssetOut(Schema):
    type: str
    id: str
    directory: str
    src: str
    previewSrc: str  # noqa: N815 - the editor's field name
    mimeType: str  # noqa: N815


def _ts(value: datetime | None) -> str | None:
    return isoformat_z(value) if value else None


def layout_data(layout) -> dict[str, Any]:  # noqa: ANN001
    return {"id": layout.pk, "name": layout.name, "brand_id": layout.brand_id,
            "version": layout.version, "created_at": _ts(layout.created_at),
            "updated_at": _ts(layout.updated_at)}


def page_data(page, tenant_slug: str) -> dict[str, Any]:  # noqa: ANN001
    from django.conf import settings

    return {
        "id": page.pk, "name": page.name, "slug": page.slug, "brand_id": page.brand_id,
        "layout_id": page.layout_id, "version": page.version, "status": page.status,
        "published_version": page.published_version, "published_at": _ts(page.published_at),
        "url": f"{settings.DOXIE_PUBLIC_URL}/p/{tenant_slug}/{page.slug}",
        "created_at": _ts(page.created_at), "updated_at": _ts(page.updated_at),
    }
