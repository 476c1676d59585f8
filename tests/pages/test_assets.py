"""Editor assets (E6–E8): sniffing, limits, SVG refused, thumbnails, 409 when published."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from doxie.pages import publishing
from doxie.pages.models import Asset, LandingPage
from tests.pages.conftest import png_bytes

pytestmark = pytest.mark.django_db
URL = "/api/v1/acme/admin/editor/assets"


def _upload(caller, data, name="a.png", content_type="image/png", filename=None, url=URL):
    client = Client(raise_request_exception=False)
    body = {"file": SimpleUploadedFile(name, data, content_type=content_type)}
    if filename:
        body["filename"] = filename
    return client.post(url, body, headers=caller.headers)


def test_upload_list_and_delete(api, admin, tenant):
    r = _upload(admin, png_bytes((800, 600)), filename="hero.png")
    assert r.status_code == 201, r.content
    item = r.json()["data"]
    assert item["type"] == "file" and item["directory"] == "/" and item["mimeType"] == "image/png"
    asset = Asset.objects.get(uuid=item["id"])
    assert asset.original_name == "hero.png" and "hero" not in asset.file  # random name
    assert item["src"].startswith("/media/pages/") and item["previewSrc"].endswith(".thumb.png")
    thumb = Client().get(item["previewSrc"])
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/png"
    from io import BytesIO

    from PIL import Image
    assert max(Image.open(BytesIO(b"".join(thumb.streaming_content))).size) <= 320
    listed = api.get(URL, caller=admin).json()
    assert isinstance(listed, list) and listed[0]["id"] == item["id"]
    r = api.delete(f"{URL}/{item['id']}", caller=admin)
    assert r.status_code == 200
    assert api.get(URL, caller=admin).json() == []
    assert Client().get(item["src"]).status_code == 404


def test_jpeg_and_pdf_accepted(admin):
    assert _upload(admin, png_bytes(fmt="JPEG"), "a.jpg", "image/jpeg").status_code == 201
    r = _upload(admin, b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\n", "a.pdf", "application/pdf")
    assert r.status_code == 201 and r.json()["data"]["mimeType"] == "application/pdf"


@pytest.mark.parametrize(("data", "ctype", "status"), [
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
     "image/svg+xml", 415),
    (b'<?xml version="1.0"?><svg onload="alert(1)"/>', "image/png", 415),
    (b"<html><script>alert(1)</script></html>", "image/png", 415),
    (b"MZ\x90\x00 not an image", "application/octet-stream", 415),
    (b"", "image/png", 422),
])
def test_refused_uploads(admin, data, ctype, status):
    r = _upload(admin, data, "x.png", ctype)
    assert r.status_code == status, r.content
    assert r.json()["success"] is False
    assert Asset.objects.count() == 0


def test_declared_type_must_match(admin):
    r = _upload(admin, png_bytes(), "a.jpg", "image/jpeg")
    assert r.status_code == 422 and r.json()["details"][0]["field"] == "file"


def test_size_limit_is_413_json(admin, settings):
    settings.DOXIE_MAX_UPLOAD_BODY = 50_000
    r = _upload(admin, png_bytes() + b"\0" * 60_000)
    assert r.status_code == 413 and r.json()["success"] is False


def test_auth_permission_isolation(api, reader, other_admin, admin, tenant):
    assert _upload(reader, png_bytes()).status_code == 403
    client = Client(raise_request_exception=False)
    r = client.post(URL, {"file": SimpleUploadedFile("a.png", png_bytes(), "image/png")})
    assert r.status_code == 401
    uid = _upload(admin, png_bytes()).json()["data"]["id"]
    assert api.delete(f"{URL}/{uid}", caller=other_admin).status_code == 404
    assert api.delete(f"{URL}/{uid}", caller=reader).status_code == 403
    assert api.delete(f"{URL}/not-a-uuid", caller=admin).status_code == 404
    assert api.delete(f"{URL}/00000000-0000-0000-0000-000000000000",
                      caller=admin).status_code == 404


def test_asset_used_by_published_page_is_409(api, admin, tenant, brand):
    uid = _upload(admin, png_bytes()).json()["data"]["id"]
    state = {"root": {"props": {}}, "zones": {}, "content": [
        {"type": "Image", "props": {"id": "i", "asset_id": uid, "alt": "A <b>", "width": 200}}]}
    page = LandingPage.objects.create(tenant=tenant, brand=brand, name="P", slug="with-image",
                                      content_state=state)
    publishing.publish(page.pk)
    html = api.get("/p/acme/with-image").content.decode()
    src = Asset.objects.get(uuid=uid).file
    assert f'src="/media/{src}"' in html and 'alt="A &lt;b&gt;"' in html
    r = api.delete(f"{URL}/{uid}", caller=admin)
    assert r.status_code == 409 and "with-image" in r.json()["error"]
