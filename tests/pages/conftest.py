from __future__ import annotations

import io

import pytest
from PIL import Image


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Each test stores uploads in its own folder through the default storage."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/media/"},
    }}
    from django.core.files.storage import storages

    storages._storages.pop("default", None)
    yield
    storages._storages.pop("default", None)


@pytest.fixture
def brand(tenant):
    from doxie.brands import services

    return services.create_brand(tenant=tenant, attributes={
        "name": "Acme", "slug": "acme",
        "style_attributes": {"primary_color": "#ff0000", "border_radius": "8px"},
    })


@pytest.fixture
def other_brand(other_tenant):
    from doxie.brands import services

    return services.create_brand(tenant=other_tenant, attributes={"name": "O", "slug": "o"})


def png_bytes(size=(40, 30), fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(out, format=fmt)
    return out.getvalue()


def every_component() -> dict:
    return {
        "root": {"props": {"title": "All <components>"}},
        "content": [
            {"type": "Heading", "props": {"id": "h1", "text": "Hello <b>world</b>", "level": 1}},
            {"type": "Text", "props": {"id": "t1", "text": "<script>alert(1)</script>"}},
            {"type": "RichText", "props": {"id": "r1", "html":
                '<p onclick="x()">Hi <a href="javascript:alert(1)">bad</a> '
                '<a href="https://example.org/x">good</a><img src=x onerror=alert(1)>'
                '<span style="color:red">s</span><script>alert(2)</script></p>'}},
            {"type": "Button", "props": {"id": "b1", "label": "Go", "href": "javascript:alert(1)",
                                         "variant": "primary"}},
            {"type": "Button", "props": {"id": "b2", "label": "Ok", "href": "/rel?a=1&b=2",
                                         "variant": "outline"}},
            {"type": "Columns", "props": {"id": "c1", "columns": 3,
                "col1": [{"type": "Text", "props": {"id": "t2", "text": "left"}}],
                "col2": [{"type": "Spacer", "props": {"id": "s1", "size": "small"}}],
                "col3": [{"type": "Divider", "props": {"id": "d1"}}]}},
            {"type": "Section", "props": {"id": "sec", "background": "light", "items": [
                {"type": "Heading", "props": {"id": "h2", "text": "Inside", "level": 3}}]}},
            {"type": "Image", "props": {"id": "i1", "asset_id": "", "alt": "x", "width": 100}},
        ],
        "zones": {},
    }
