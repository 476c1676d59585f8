"""Shapes of P6 and the admin QR code reads, for validation and the served OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from doxie.core.pagination import PageParams, PaginationOut

UUID_EXAMPLE = "9a5d8c73-fcb4-4a8a-9fd2-fbabb3c99838"
CODE_EXAMPLE = "123e4567-e89b-12d3-a456-426614174000"
PUBLIC = "https://doxie.example.com"


class QrCodeCreated(Schema):
    """The seed's ``data`` (``uuid``, ``valid_until``) plus the code's public URLs."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "uuid": CODE_EXAMPLE,
        "valid_until": "2024-12-31T23:59:59Z",
        "url": f"{PUBLIC}/qr/{CODE_EXAMPLE}",
        "png_url": f"{PUBLIC}/qr/{CODE_EXAMPLE}.png",
        "svg_url": f"{PUBLIC}/qr/{CODE_EXAMPLE}.svg",
    }})

    uuid: str = Field(examples=[CODE_EXAMPLE], description="The QR code's UUID.")
    valid_until: str | None = Field(
        examples=["2024-12-31T23:59:59Z"],
        description="When the code stops redirecting (UTC); null: it never expires.",
    )
    url: str = Field(description="The URL the code encodes: each GET is a counted scan "
                     "that redirects (302) to the target while the code is active.")
    png_url: str = Field(description="PNG image of the code; `?size=` in pixels "
                         "(64–2048, default 512). Immutable: cache it.")
    svg_url: str = Field(description="SVG image of the code; `?size=` as for PNG.")


class ScanCounts(Schema):
    total: int = Field(examples=[42], description="Every GET of the code's URL.")
    human: int = Field(examples=[37], description="Scans not flagged as bot or link preview.")
    bots: int = Field(examples=[5], description="Crawlers and link previews.")
    first_scan_at: datetime | None = None
    last_scan_at: datetime | None = None


class QrCodeOut(Schema):
    uuid: str = Field(examples=[CODE_EXAMPLE])
    process_uuid: str = Field(examples=[UUID_EXAMPLE])
    event_slug: str = Field(examples=["flyer"])
    target_url: str = Field(examples=["https://example.com/angebot"])
    expired_url: str | None = Field(
        examples=[None], description="Where an expired or cancelled code redirects; null: "
        "a branded 410 page.")
    valid_until: datetime | None = Field(examples=["2024-12-31T23:59:59Z"])
    status: Literal["active", "expired", "cancelled"] = Field(
        description="Now: `cancelled` after P7, `expired` after `valid_until`.")
    cancelled_at: datetime | None = None
    created_at: datetime
    url: str
    png_url: str
    svg_url: str
    scans: ScanCounts


class QrCodeList(Schema):
    qr_codes: list[QrCodeOut]
    pagination: PaginationOut


class QrCodeListParams(PageParams):
    event_slug: str | None = Field(
        None, max_length=100, description="Only codes of this QR event.")
