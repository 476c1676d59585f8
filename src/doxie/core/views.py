"""Plain Django views that live outside the JSON API: health and JSON 404/500 for /api/."""

from __future__ import annotations

import logging

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from doxie.core.middleware import error_response

log = logging.getLogger("doxie.health")


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers; 503 within ~2 s when it does not (never hangs)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 1500")
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "database not ok"
        log.warning("health check: database unavailable: %s", exc)
        connection.close_if_unusable_or_obsolete()
        response = JsonResponse({"status": "degraded", "database": "unavailable"}, status=503)
        response["Retry-After"] = "5"
        return response
    return JsonResponse({"status": "ok", "database": "ok"})


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Also what a path converter's mismatch becomes: the route's own envelope."""
    if request.path.startswith("/api/"):
        return error_response(request, 404, "Not found")
    if request.path.startswith("/hooks/"):
        return JsonResponse({"received": False, "error": "Not found"}, status=404)
    return HttpResponse("<h1>Not found</h1>", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return error_response(request, 500, "Internal server error")
    return HttpResponse("<h1>Server error</h1>", status=500)
