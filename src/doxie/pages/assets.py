"""Editor assets: sniffed uploads stored through Django's storage API, with thumbnails.

The bytes decide the type, not the client: Pillow must open the file as PNG, JPEG, GIF or
WebP (or it starts with the PDF magic), and the declared content type must agree. SVG is
refused outright (it can carry script). Files get random names under ``pages/<tenant>/`` in
the default storage (a folder under ``DATA_DIR`` unless ``STORAGES["default"]`` says S3).
"""

from __future__ import annotations

import io
import secrets
import uuid as uuidlib

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from PIL import Image, UnidentifiedImageError

from doxie.core.errors import Conflict, DomainError, Invalid
from doxie.pages import selectors
from doxie.pages.models import Asset, LandingPage

FORMATS = {"PNG": ("image/png", "png"), "JPEG": ("image/jpeg", "jpg"),
           "GIF": ("image/gif", "gif"), "WEBP": ("image/webp", "webp")}
PDF = ("application/pdf", "pdf")
THUMB_SIZE = (320, 320)
MAX_PIXELS = 40_000_000


def max_bytes() -> int:
    return settings.DOXIE_MAX_UPLOAD_BODY


def storage():
    return storages["default"]


def _sniff(data: bytes) -> tuple[str, str, Image.Image | None]:
    if data.startswith(b"%PDF-"):
        return (*PDF, None)
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml", b"<!doctype svg")) or b"<svg" in head:
        raise DomainError(415, "SVG files are not accepted", "unsupported_media_type")
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise Invalid.one("file", "image has too many pixels")
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DomainError(
            415, "Only PNG, JPEG, GIF, WebP images and PDF files are accepted",
            "unsupported_media_type",
        ) from exc
    if image.format not in FORMATS:
        raise DomainError(415, f"Image format {image.format} is not accepted",
                          "unsupported_media_type")
    return (*FORMATS[image.format], image)


def _thumbnail(image: Image.Image) -> bytes:
    thumb = image.copy()
    if thumb.mode not in ("RGB", "RGBA"):
        thumb = thumb.convert("RGBA")
    thumb.thumbnail(THUMB_SIZE)
    out = io.BytesIO()
    thumb.save(out, format="PNG", optimize=True)
    return out.getvalue()


def upload(*, tenant, file: UploadedFile, filename: str | None) -> Asset:  # noqa: ANN001
    if file.size is not None and file.size > max_bytes():
        raise DomainError(413, f"File exceeds {max_bytes()} bytes", "too_large")
    data = file.read(max_bytes() + 1)
    if len(data) > max_bytes():
        raise DomainError(413, f"File exceeds {max_bytes()} bytes", "too_large")
    if not data:
        raise Invalid.one("file", "is empty")
    mime, ext, image = _sniff(data)
    declared = (file.content_type or "").split(";")[0].strip().lower()
    if declared not in ("", "application/octet-stream", mime):
        raise Invalid.one(
            "file", f"declared type {declared[:60]} does not match the content ({mime})"
        )
    store = storage()
    base = f"pages/{tenant.pk}/{secrets.token_urlsafe(18)}"
    name = store.save(f"{base}.{ext}", ContentFile(data))
    thumb_name = store.save(f"{base}.thumb.png", ContentFile(_thumbnail(image))) if image else ""
    original = (filename or file.name or "")[:255]
    return Asset.objects.create(
        tenant=tenant, original_name=original, mime_type=mime, size=len(data), file=name,
        thumbnail=thumb_name, width=image.width if image else None,
        height=image.height if image else None,
    )


def delete(*, tenant, asset_uuid: uuidlib.UUID) -> Asset:  # noqa: ANN001
    with transaction.atomic():
        asset = selectors.get_asset(tenant, asset_uuid)
        users = list(
            LandingPage.objects.for_tenant(tenant)
            .filter(published_asset_ids__contains=[str(asset.uuid)])
            .values_list("slug", flat=True)[:20]
        )
        if users:
            raise Conflict(f"Asset is used by published pages: {', '.join(users)}")
        asset.delete()
    store = storage()
    for name in (asset.file, asset.thumbnail):
        if name:
            store.delete(name)
    return asset


def url(name: str) -> str:
    return storage().url(name) if name else ""


def describe(asset: Asset) -> dict[str, str]:
    """E6's item shape (Puck/file-manager style)."""
    src = url(asset.file)
    return {
        "type": "file", "id": str(asset.uuid), "directory": "/", "src": src,
        "previewSrc": url(asset.thumbnail) or src, "mimeType": asset.mime_type,
    }


def urls_for(tenant_id: int, ids: list[str]) -> dict[str, str]:
    valid = []
    for value in ids:
        try:
            valid.append(uuidlib.UUID(value))
        except ValueError:
            continue
    rows = Asset.objects.filter(tenant_id=tenant_id, uuid__in=valid, mime_type__startswith="image/")
    return {str(a.uuid): url(a.file) for a in rows}
