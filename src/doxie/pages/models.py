"""Landing pages, layouts, their kept versions and the editor's uploaded assets.

``content_state`` is Puck's ``Data`` document; it is the only source a page is rendered
from (the browser never sends HTML). A publish renders the page *inside its layout* into
``published_html`` once per content version: ``published_version`` records which version the
stored HTML is, so a second run of the job for the same version does nothing.
"""

from __future__ import annotations

import uuid

from django.db import models

from doxie.core.models import TenantOwned


def empty_state() -> dict:
    return {"root": {"props": {}}, "content": [], "zones": {}}


class LandingPageLayout(TenantOwned):
    brand = models.ForeignKey("brands.Brand", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    content_state = models.JSONField(default=empty_state)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["id"]
        db_table = "pages_landing_page_layout"

    def __str__(self) -> str:
        return self.name


class PageStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHING = "publishing", "Publishing"
    PUBLISHED = "published", "Published"


class LandingPage(TenantOwned):
    brand = models.ForeignKey("brands.Brand", on_delete=models.PROTECT, related_name="+")
    layout = models.ForeignKey(
        LandingPageLayout, on_delete=models.PROTECT, null=True, blank=True, related_name="pages"
    )
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100)
    content_state = models.JSONField(default=empty_state)
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=PageStatus.choices, default=PageStatus.DRAFT)
    published_html = models.TextField(blank=True, default="", editable=False)
    published_etag = models.CharField(max_length=80, blank=True, default="", editable=False)
    published_version = models.PositiveIntegerField(null=True, blank=True, editable=False)
    published_style_hash = models.CharField(max_length=80, blank=True, default="", editable=False)
    published_layout_version = models.PositiveIntegerField(null=True, blank=True, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Asset ids the published HTML refers to: deleting one of them is a 409.
    published_asset_ids = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["id"]
        db_table = "pages_landing_page"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="uniq_landing_page_slug")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class ContentVersion(TenantOwned):
    """A previous ``content_state`` of a page or layout; the newest 20 per owner are kept."""

    page = models.ForeignKey(
        LandingPage, on_delete=models.CASCADE, null=True, blank=True, related_name="versions"
    )
    layout = models.ForeignKey(
        LandingPageLayout, on_delete=models.CASCADE, null=True, blank=True,
        related_name="versions",
    )
    version = models.PositiveIntegerField()
    content_state = models.JSONField()

    class Meta:
        ordering = ["-version"]
        indexes = [
            models.Index(fields=["page", "-version"]),
            models.Index(fields=["layout", "-version"]),
        ]


class Asset(TenantOwned):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    original_name = models.CharField(max_length=255, blank=True, default="")
    mime_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    file = models.CharField(max_length=255)  # storage name (random)
    thumbnail = models.CharField(max_length=255, blank=True, default="")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.original_name or str(self.uuid)
