"""Writes of pages and layouts: CRUD, versioned content saves and the publish request.

Every content save validates the whole document first (``components``), keeps the previous
state as a ``ContentVersion`` (newest 20 per owner) and bumps ``version`` in one
transaction. Publishing only *requests* a render: the job is deferred in the same
transaction as the status change, so a rolled-back request leaves no job behind.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from doxie.brands import selectors as brand_selectors
from doxie.core.errors import Conflict, DomainError, NotFound
from doxie.pages import selectors
from doxie.pages.components import validate_content_state
from doxie.pages.models import ContentVersion, LandingPage, LandingPageLayout, PageStatus

KEEP_VERSIONS = 20


def _max_state_bytes() -> int:
    return getattr(settings, "DOXIE_PAGES_MAX_CONTENT_STATE", 512 * 1024)


# --- layouts ---------------------------------------------------------------------------------


def create_layout(*, tenant, attributes: dict[str, Any]) -> LandingPageLayout:  # noqa: ANN001
    brand = brand_selectors.get_brand(tenant, attributes["brand_id"])
    return LandingPageLayout.objects.create(tenant=tenant, brand=brand, name=attributes["name"])


def update_layout(*, tenant, layout_id: int, attributes: dict[str, Any]) -> LandingPageLayout:  # noqa: ANN001
    layout = selectors.get_layout(tenant, layout_id)
    if "brand_id" in attributes:
        layout.brand = brand_selectors.get_brand(tenant, attributes["brand_id"])
    if "name" in attributes:
        layout.name = attributes["name"]
    layout.save()
    return layout


@transaction.atomic
def delete_layout(*, tenant, layout_id: int) -> LandingPageLayout:  # noqa: ANN001
    layout = selectors.get_layout(tenant, layout_id)
    users = list(layout.pages.values_list("slug", flat=True)[:20])
    if users:
        raise Conflict(f"Layout is used by landing pages: {', '.join(users)}")
    deleted_id = layout.pk
    layout.delete()
    layout.id = deleted_id
    return layout


# --- landing pages ---------------------------------------------------------------------------


def _page_refs(tenant, page: LandingPage, attributes: dict[str, Any]) -> None:  # noqa: ANN001
    if "brand_id" in attributes:
        page.brand = brand_selectors.get_brand(tenant, attributes["brand_id"])
    if "layout_id" in attributes:
        layout_id = attributes["layout_id"]
        page.layout = selectors.get_layout(tenant, layout_id) if layout_id else None
    for name in ("name", "slug"):
        if name in attributes:
            setattr(page, name, attributes[name])


def _save_unique(page: LandingPage) -> LandingPage:
    try:
        with transaction.atomic():
            page.save()
    except IntegrityError as exc:
        raise Conflict(f"A landing page with slug '{page.slug}' already exists") from exc
    return page


def create_page(*, tenant, attributes: dict[str, Any]) -> LandingPage:  # noqa: ANN001
    page = LandingPage(tenant=tenant)
    _page_refs(tenant, page, attributes)
    return _save_unique(page)


def update_page(*, tenant, page_id: int, attributes: dict[str, Any]) -> LandingPage:  # noqa: ANN001
    page = selectors.get_page(tenant, page_id)
    _page_refs(tenant, page, attributes)
    return _save_unique(page)


def delete_page(*, tenant, page_id: int) -> LandingPage:  # noqa: ANN001
    page = selectors.get_page(tenant, page_id)
    deleted_id = page.pk
    page.delete()
    page.id = deleted_id
    return page


# --- content ---------------------------------------------------------------------------------


def _check_size(state: Any) -> None:
    size = len(json.dumps(state, ensure_ascii=False).encode())
    if size > _max_state_bytes():
        raise DomainError(413, f"content_state exceeds {_max_state_bytes()} bytes", "too_large")


def _keep_version(owner_field: str, owner: LandingPage | LandingPageLayout) -> None:
    ContentVersion.objects.create(
        tenant_id=owner.tenant_id, version=owner.version, content_state=owner.content_state,
        **{owner_field: owner},
    )
    stale = ContentVersion.objects.filter(**{owner_field: owner}).order_by("-version")
    stale_ids = list(stale.values_list("pk", flat=True)[KEEP_VERSIONS:])
    if stale_ids:
        ContentVersion.objects.filter(pk__in=stale_ids).delete()


@transaction.atomic
def save_page_content(*, tenant, page_id: int, content_state: Any) -> LandingPage:  # noqa: ANN001
    _check_size(content_state)
    validate_content_state(content_state)
    page = selectors.pages(tenant).select_for_update().filter(pk=page_id).first()
    if page is None:
        raise NotFound("Landing page not found")
    _keep_version("page", page)
    page.content_state = content_state
    page.version += 1
    page.save(update_fields=["content_state", "version", "updated_at"])
    return selectors.get_page(tenant, page_id)


@transaction.atomic
def save_layout_content(*, tenant, layout_id: int, content_state: Any) -> LandingPageLayout:  # noqa: ANN001
    _check_size(content_state)
    validate_content_state(content_state, layout=True)
    layout = selectors.layouts(tenant).select_for_update().filter(pk=layout_id).first()
    if layout is None:
        raise NotFound("Landing page layout not found")
    _keep_version("layout", layout)
    layout.content_state = content_state
    layout.version += 1
    layout.save(update_fields=["content_state", "version", "updated_at"])
    return selectors.get_layout(tenant, layout_id)


@transaction.atomic
def request_publish(*, tenant, page_id: int) -> LandingPage:  # noqa: ANN001
    """Mark the page publishing and defer its render job in this transaction."""
    from doxie.pages import tasks

    page = selectors.pages(tenant).select_for_update().filter(pk=page_id).first()
    if page is None:
        raise NotFound("Landing page not found")
    # Validate now so a broken stored state is a 422 here, not a failed job later.
    validate_content_state(page.content_state)
    page.status = PageStatus.PUBLISHING
    page.save(update_fields=["status", "updated_at"])
    tasks.publish_page.defer(page_id=page.pk)
    return page
