"""Reads of brands; the tenant is always the first argument (isolation by construction)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from doxie.brands.models import BRAND_PARTS, Brand
from doxie.core.errors import NotFound

if TYPE_CHECKING:
    from doxie.tenants.models import Tenant

#: The one-to-one parts, joined in the same SELECT so a page of brands is one query.
PART_ACCESSORS = tuple(accessor for accessor, _ in BRAND_PARTS)
#: Longest token ``secrets.token_urlsafe(32)`` makes; anything longer cannot be ours.
MAX_TOKEN_LENGTH = 64


def brands(tenant: Tenant) -> QuerySet[Brand]:
    return Brand.objects.for_tenant(tenant).select_related(*PART_ACCESSORS).order_by("id")


def get_brand(tenant: Tenant, brand_id: int) -> Brand:
    """The brand with all parts loaded, or 404 (another tenant's brand is also a 404)."""
    brand = brands(tenant).filter(id=brand_id).first()
    if brand is None:
        raise NotFound("Brand not found")
    return brand


def brand_for_inbound_token(token: str) -> Brand | None:
    """The brand a provider callback URL belongs to.

    A unique-index lookup by the whole token: the database compares full values, so the
    answer time does not depend on how much of a guessed token was right.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return Brand.objects.select_related("tenant").filter(inbound_token=token).first()
