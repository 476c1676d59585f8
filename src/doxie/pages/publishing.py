"""The render job's body: content_state (page inside its layout) → stored static HTML.

Idempotent by version: the page row is locked, and when the stored HTML already is the
current page and layout version, nothing is rendered (a job run twice renders once).
"""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.utils import timezone

from doxie.pages import assets as asset_files
from doxie.pages.components import asset_ids, validate_content_state
from doxie.pages.models import LandingPage, PageStatus
from doxie.pages.rendering import render_document


def publish(page_id: int) -> bool:
    """Render and store the page; False when it was already published at this version."""
    with transaction.atomic():
        page = (
            LandingPage.objects.select_for_update(of=("self",))
            .select_related("layout", "brand__style")
            .filter(pk=page_id)
            .first()
        )
        if page is None:
            return False
        layout = page.layout
        layout_version = layout.version if layout is not None else None
        if (page.published_version == page.version
                and page.published_layout_version == layout_version):
            if page.status != PageStatus.PUBLISHED:
                page.status = PageStatus.PUBLISHED
                page.save(update_fields=["status", "updated_at"])
            return False
        document = validate_content_state(page.content_state)
        layout_nodes = None
        if layout is not None:
            layout_nodes = validate_content_state(layout.content_state, layout=True).content
        ids = sorted(set(asset_ids(document.content)) | set(asset_ids(layout_nodes or [])))
        rendered = render_document(
            title=document.title or page.name,
            body_nodes=document.content,
            layout_nodes=layout_nodes,
            style=getattr(page.brand, "style", None),
            asset_urls=asset_files.urls_for(page.tenant_id, ids),
        )
        page.published_html = rendered.html
        page.published_style_hash = rendered.style_hash
        page.published_etag = '"' + hashlib.sha256(rendered.html.encode()).hexdigest()[:32] + '"'
        page.published_version = page.version
        page.published_layout_version = layout_version
        page.published_asset_ids = ids
        page.published_at = timezone.now()
        page.status = PageStatus.PUBLISHED
        page.save()
        return True
