"""Page-number pagination as the contract defines it (1-based, default 200, max 1000)."""

from __future__ import annotations

import math
from typing import Any

from django.db.models import QuerySet
from ninja import Schema
from pydantic import Field

DEFAULT_LIMIT = 200
MAX_LIMIT = 1000


class PageParams(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Records per page.")
    page: int = Field(1, ge=1, description="Page number, starting at 1.")


class PaginationOut(Schema):
    current_page: int
    items_per_page: int
    total_pages: int
    total_count: int


def paginate(queryset: QuerySet, params: PageParams) -> tuple[list[Any], dict[str, int]]:
    """One COUNT and one sliced SELECT, whatever the page."""
    total = queryset.count()
    offset = (params.page - 1) * params.limit
    items = list(queryset[offset : offset + params.limit]) if offset < total else []
    return items, {
        "current_page": params.page,
        "items_per_page": params.limit,
        "total_pages": math.ceil(total / params.limit),
        "total_count": total,
    }
