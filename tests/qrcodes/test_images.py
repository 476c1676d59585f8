"""``/qr/{uuid}.png`` and ``.svg``: decode to the scan URL, sized, strong ETag, long cache."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from django.test import Client
from PIL import Image

from doxie.qrcodes.models import QrScan
from tests.qrcodes.support import PUBLIC_URL, make_code, make_qr_event


def decode(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


@pytest.mark.django_db
@pytest.mark.parametrize("level", ["l", "m", "q", "h"])
def test_png_decodes_to_the_scan_url(tenant, level):
    make_qr_event(tenant, error_correction=level, dark="#1a237e", light="#fff8e1", border=2)
    code = make_code(tenant)
    response = Client().get(f"/qr/{code.uuid}.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert decode(response.content) == [f"{PUBLIC_URL}/qr/{code.uuid}"]
    assert not QrScan.objects.exists()  # an image fetch is not a scan


@pytest.mark.django_db
def test_size_is_bounded(tenant, qr_event):
    code = make_code(tenant)
    widths = {}
    for size in ("64", "300", "1000", "999999", "1"):
        response = Client().get(f"/qr/{code.uuid}.png?size={size}")
        assert response.status_code == 200
        width = Image.open(io.BytesIO(response.content)).size[0]
        widths[size] = width
        assert decode(response.content) == [f"{PUBLIC_URL}/qr/{code.uuid}"]
    assert widths["1"] <= widths["64"] <= 64
    assert widths["64"] < widths["300"] <= 300 < widths["1000"] <= 1000
    assert widths["999999"] <= 2048
    assert Client().get(f"/qr/{code.uuid}.png?size=big").status_code == 400


@pytest.mark.django_db
def test_svg_has_the_style_and_no_script(tenant):
    make_qr_event(tenant, dark="#1a237e")
    code = make_code(tenant)
    response = Client().get(f"/qr/{code.uuid}.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    svg = response.content.decode()
    assert svg.startswith("<svg") and "#1a237e" in svg and "<script" not in svg
    # The same code, rasterised by a real decoder, reads the scan URL.
    png = Client().get(f"/qr/{code.uuid}.png").content
    assert decode(png) == [f"{PUBLIC_URL}/qr/{code.uuid}"]


@pytest.mark.django_db
def test_strong_etag_and_long_cache(tenant, qr_event):
    code = make_code(tenant)
    first = Client().get(f"/qr/{code.uuid}.png")
    tag = first["ETag"]
    assert tag.startswith('"') and not tag.startswith("W/")
    assert "immutable" in first["Cache-Control"] and "max-age=31536000" in first["Cache-Control"]
    again = Client().get(f"/qr/{code.uuid}.png", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again["ETag"] == tag
    other_size = Client().get(f"/qr/{code.uuid}.png?size=200")
    assert other_size["ETag"] != tag
    assert Client().get(f"/qr/{code.uuid}.svg")["ETag"] != tag


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/qr/00000000-0000-0000-0000-000000000000.png",
                                  "/qr/nope.svg", "/qr/x.gif"])
def test_unknown_code_image_404(tenant, qr_event, path):
    assert Client().get(path).status_code == 404
