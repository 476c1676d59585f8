"""The two response envelopes of the contract, in one place.

Public API: ``{"success", "error_message", "process_uuid", "data"}``;
admin API: ``{"success", "message", "error", "data"}``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from doxie.core.messages import message as translate


def admin_ok(data: Any = None, message_key: str | None = None, request: HttpRequest | None = None):
    return {
        "success": True,
        "message": translate(message_key, request) if message_key else None,
        "error": None,
        "data": data,
    }


def admin_error(error: str, details: list[dict] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": False, "message": None, "error": error, "data": None}
    if details is not None:
        body["details"] = details
    return body


def public_ok(data: Any = None, process_uuid: str | None = None) -> dict[str, Any]:
    return {"success": True, "error_message": None, "process_uuid": process_uuid, "data": data}


def public_error(error: str, details: list[dict] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "success": False,
        "error_message": error,
        "process_uuid": None,
        "data": None,
    }
    if details is not None:
        body["details"] = details
    return body


def is_admin_path(path: str) -> bool:
    parts = path.split("/")
    # /api/v1/{tenant}/admin/...
    return len(parts) > 4 and parts[1] == "api" and parts[4] == "admin"
