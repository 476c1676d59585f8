"""Admin API for pages: layouts (E9–E13), landing pages CRUD, and the editor (E1–E8).

The editor routes accept an OAuth2 bearer token or the admin UI's session with CSRF
(``EditorAuth``); the CRUD routes only bearer tokens, as the contract says.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import File, Form, Path, Query, Router
from ninja.files import UploadedFile

from doxie.core.auth import ADMIN_READ, ADMIN_WRITE, EDITOR_READ, EDITOR_WRITE
from doxie.core.envelopes import admin_ok
from doxie.core.pagination import PageParams, paginate
from doxie.core.schemas import TenantSlug, admin_envelope, admin_responses
from doxie.pages import assets, components, selectors, services
from doxie.pages.schemas import (
    AssetOut,
    ContentIn,
    LayoutList,
    LayoutOut,
    LayoutPatch,
    LayoutWrite,
    PageList,
    PageOut,
    PagePatch,
    PageWrite,
    PublishOut,
    layout_data,
    page_data,
)

router = Router(tags=["Admin: pages"])
editor_router = Router(tags=["Admin: editor"])

LayoutEnvelope = admin_envelope(LayoutOut, "LayoutEnvelope")
LayoutListEnvelope = admin_envelope(LayoutList, "LayoutListEnvelope")
PageEnvelope = admin_envelope(PageOut, "LandingPageEnvelope")
PageListEnvelope = admin_envelope(PageList, "LandingPageListEnvelope")
EditorEnvelope = admin_envelope(dict[str, Any], "EditorPayloadEnvelope")
PublishEnvelope = admin_envelope(PublishOut, "PublishEnvelope")
AssetEnvelope = admin_envelope(AssetOut, "AssetEnvelope")

ItemId = Annotated[int, Path(description="The record ID", examples=[4])]
AssetId = Annotated[uuid.UUID, Path(description="UUID of the editor asset")]


# --- E9–E13: layouts ---------------------------------------------------------------------------


@router.get("/pages/landing_page_layouts", auth=ADMIN_READ,
            response=admin_responses({200: LayoutListEnvelope}), summary="List layouts")
def list_layouts(request: HttpRequest, tenant: TenantSlug, params: Query[PageParams]):
    items, pagination = paginate(selectors.layouts(request.auth.tenant), params)
    return admin_ok({"pages_landing_page_layouts": [layout_data(x) for x in items],
                     "pagination": pagination})


@router.post("/pages/landing_page_layouts", auth=ADMIN_WRITE,
             response=admin_responses({201: LayoutEnvelope}), summary="Create layout")
def create_layout(request: HttpRequest, tenant: TenantSlug, payload: LayoutWrite):
    layout = services.create_layout(
        tenant=request.auth.tenant, attributes=payload.pages_landing_page_layout.model_dump()
    )
    return 201, admin_ok(layout_data(layout), "created", request)


@router.get("/pages/landing_page_layouts/{id:id}", auth=ADMIN_READ,
            response=admin_responses({200: LayoutEnvelope}), summary="Show layout")
def show_layout(request: HttpRequest, tenant: TenantSlug, id: ItemId):
    return admin_ok(layout_data(selectors.get_layout(request.auth.tenant, id)))


@router.patch("/pages/landing_page_layouts/{id:id}", auth=ADMIN_WRITE,
              response=admin_responses({200: LayoutEnvelope}), summary="Update layout")
def update_layout(request: HttpRequest, tenant: TenantSlug, id: ItemId, payload: LayoutPatch):
    layout = services.update_layout(
        tenant=request.auth.tenant, layout_id=id,
        attributes=payload.pages_landing_page_layout.model_dump(exclude_none=True),
    )
    return admin_ok(layout_data(layout), "updated", request)


@router.delete("/pages/landing_page_layouts/{id:id}", auth=ADMIN_WRITE,
               response=admin_responses({200: LayoutEnvelope}, 409), summary="Delete layout",
               description="A layout still used by landing pages is 409 naming them.")
def delete_layout(request: HttpRequest, tenant: TenantSlug, id: ItemId):
    layout = services.delete_layout(tenant=request.auth.tenant, layout_id=id)
    return admin_ok(layout_data(layout), "deleted", request)


# --- landing pages CRUD -----------------------------------------------------------------------


@router.get("/pages/landing_pages", auth=ADMIN_READ,
            response=admin_responses({200: PageListEnvelope}), summary="List landing pages")
def list_pages(request: HttpRequest, tenant: TenantSlug, params: Query[PageParams]):
    items, pagination = paginate(selectors.pages(request.auth.tenant), params)
    return admin_ok({"pages_landing_pages": [page_data(p, tenant) for p in items],
                     "pagination": pagination})


@router.post("/pages/landing_pages", auth=ADMIN_WRITE,
             response=admin_responses({201: PageEnvelope}, 409), summary="Create landing page",
             description="`slug` is unique per tenant (409).")
def create_page(request: HttpRequest, tenant: TenantSlug, payload: PageWrite):
    page = services.create_page(
        tenant=request.auth.tenant, attributes=payload.pages_landing_page.model_dump()
    )
    return 201, admin_ok(page_data(page, tenant), "created", request)


@router.get("/pages/landing_pages/{id:id}", auth=ADMIN_READ,
            response=admin_responses({200: PageEnvelope}), summary="Show landing page")
def show_page(request: HttpRequest, tenant: TenantSlug, id: ItemId):
    return admin_ok(page_data(selectors.get_page(request.auth.tenant, id), tenant))


@router.patch("/pages/landing_pages/{id:id}", auth=ADMIN_WRITE,
              response=admin_responses({200: PageEnvelope}, 409), summary="Update landing page",
              description="Omitted keys keep their values; `layout_id: null` removes the layout.")
def update_page(request: HttpRequest, tenant: TenantSlug, id: ItemId, payload: PagePatch):
    page = services.update_page(
        tenant=request.auth.tenant, page_id=id,
        attributes=payload.pages_landing_page.model_dump(exclude_unset=True),
    )
    return admin_ok(page_data(page, tenant), "updated", request)


@router.delete("/pages/landing_pages/{id:id}", auth=ADMIN_WRITE,
               response=admin_responses({200: PageEnvelope}), summary="Delete landing page")
def delete_page(request: HttpRequest, tenant: TenantSlug, id: ItemId):
    page = services.delete_page(tenant=request.auth.tenant, page_id=id)
    return admin_ok(page_data(page, tenant), "deleted", request)


# --- E1–E8: editor ---------------------------------------------------------------------------


def _brand(brand) -> dict[str, Any]:  # noqa: ANN001
    style = getattr(brand, "style", None)
    fields = ("primary_color", "secondary_color", "light_accent_color", "dark_accent_color",
              "border_radius", "font_family", "fallback_font_family", "pages_font_family",
              "pages_headline_font_family")
    return {"id": brand.pk, "slug": brand.slug, "name": brand.name,
            "style": {f: getattr(style, f) for f in fields} if style else None}


def _editor(brand, *, layout: bool) -> dict[str, Any]:  # noqa: ANN001
    style = _brand(brand)["style"] or {}
    colors = [style[k] for k in ("primary_color", "secondary_color", "light_accent_color",
                                 "dark_accent_color") if style.get(k)]
    fonts = [style[k] for k in ("pages_font_family", "pages_headline_font_family",
                                "font_family") if style.get(k)]
    return {"components": components.editor_components(layout=layout), "fonts": fonts,
            "colors": colors}


def _base(tenant: str) -> str:
    return f"/api/v1/{tenant}/admin/editor"


@editor_router.get("/editor/landing_pages/{id:id}", auth=EDITOR_READ,
                   response=admin_responses({200: EditorEnvelope}), summary="E1 page payload")
def editor_page(request: HttpRequest, tenant: TenantSlug, id: ItemId):
    page = selectors.get_page(request.auth.tenant, id)
    base = _base(tenant)
    return admin_ok({
        "id": page.pk, "name": page.name, "content_state": page.content_state,
        "version": page.version, "status": page.status, "brand": _brand(page.brand),
        "layout_id": page.layout_id,
        "endpoints": {"update": f"{base}/landing_pages/{page.pk}",
                      "publish": f"{base}/landing_pages/{page.pk}/publish",
                      "assets": f"{base}/assets", "upload": f"{base}/assets"},
        "editor": _editor(page.brand, layout=False),
    })


@editor_router.patch("/editor/landing_pages/{id:id}", auth=EDITOR_WRITE,
                     response=admin_responses({200: EditorEnvelope}), summary="E2 save page",
                     description="Validated against the component schema (422 with the path); "
                     "stored as a new version; the previous 20 are kept.")
def editor_save_page(request: HttpRequest, tenant: TenantSlug, id: ItemId, payload: ContentIn):
    page = services.save_page_content(
        tenant=request.auth.tenant, page_id=id, content_state=payload.content_state
    )
    return admin_ok({"id": page.pk, "version": page.version,
                     "content_state": page.content_state}, "updated", request)


@editor_router.post("/editor/landing_pages/{id:id}/publish", auth=EDITOR_WRITE,
                    response=admin_responses({200: PublishEnvelope}), summary="E3 publish")
def editor_publish(request: HttpRequest, tenant: TenantSlug, id: ItemId):
    page = services.request_publish(tenant=request.auth.tenant, page_id=id)
    return admin_ok({"id": page.pk, "status": "publishing"})


@editor_router.get("/editor/landing_page_layouts/{id:id}", auth=EDITOR_READ,
                   response=admin_responses({200: EditorEnvelope}), summary="E4 layout payload")
def editor_layout(request: HttpRequest, tenant: TenantSlug, id: ItemId):
    layout = selectors.get_layout(request.auth.tenant, id)
    base = _base(tenant)
    return admin_ok({
        "id": layout.pk, "name": layout.name, "content_state": layout.content_state,
        "version": layout.version, "brand": _brand(layout.brand),
        "endpoints": {"update": f"{base}/landing_page_layouts/{layout.pk}",
                      "assets": f"{base}/assets", "upload": f"{base}/assets"},
        "editor": _editor(layout.brand, layout=True),
    })


@editor_router.patch("/editor/landing_page_layouts/{id:id}", auth=EDITOR_WRITE,
                     response=admin_responses({200: EditorEnvelope}), summary="E5 save layout")
def editor_save_layout(request: HttpRequest, tenant: TenantSlug, id: ItemId,
                       payload: ContentIn):
    layout = services.save_layout_content(
        tenant=request.auth.tenant, layout_id=id, content_state=payload.content_state
    )
    return admin_ok({"id": layout.pk, "version": layout.version,
                     "content_state": layout.content_state}, "updated", request)


@editor_router.get("/editor/assets", auth=EDITOR_READ,
                   response=admin_responses({200: list[AssetOut]}), summary="E6 list assets",
                   description="A bare JSON array (the editor's file-manager shape), newest "
                   "first, at most 1000.")
def editor_assets(request: HttpRequest, tenant: TenantSlug):
    return [assets.describe(a) for a in selectors.assets(request.auth.tenant)[:1000]]


@editor_router.post("/editor/assets", auth=EDITOR_WRITE,
                    response=admin_responses({201: AssetEnvelope}), summary="E7 upload asset",
                    description="Multipart `file` (PNG, JPEG, GIF, WebP or PDF; sniffed; SVG "
                    "refused: 415) and optional `filename`; at most 10 MiB (413).")
def editor_upload(request: HttpRequest, tenant: TenantSlug, file: File[UploadedFile],
                  filename: Form[str | None] = None):
    asset = assets.upload(tenant=request.auth.tenant, file=file, filename=filename)
    return 201, admin_ok(assets.describe(asset), "created", request)


@editor_router.delete("/editor/assets/{uid:id}", auth=EDITOR_WRITE,
                      response=admin_responses({200: AssetEnvelope}, 409),
                      summary="E8 delete asset",
                      description="An asset used by a published page is 409 naming the pages.")
def editor_delete_asset(request: HttpRequest, tenant: TenantSlug, id: AssetId):
    asset = assets.delete(tenant=request.auth.tenant, asset_uuid=id)
    return admin_ok(assets.describe(asset), "deleted", request)
