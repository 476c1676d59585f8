"""Plain Django views that live outside the JSON API: health and JSON 404/500 for /api/."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse

from doxie.core.metrics import worker_heartbeat_age
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


#: Seconds a "migrations applied" answer is reused: building the migration plan reads every
#: migration file, too slow for a probe hit every few seconds.
MIGRATIONS_CACHE_SECONDS = 30.0
_migrations_ok_at: float | None = None


def migrations_pending() -> bool:
    """True while the database lacks a migration this code has (answer cached when clean)."""
    global _migrations_ok_at
    now = time.monotonic()
    if _migrations_ok_at is not None and now - _migrations_ok_at < MIGRATIONS_CACHE_SECONDS:
        return False
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    pending = bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    _migrations_ok_at = None if pending else now
    return pending


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve traffic: database up, migrations applied, a worker alive.

    503 with the reasons otherwise, so a load balancer holds traffic during an upgrade (new
    code before ``migrate``) and an alert fires when no worker drains the queues."""
    problems: dict[str, str] = {}
    try:
        if migrations_pending():
            problems["migrations"] = "unapplied migrations"
        age = worker_heartbeat_age()
        limit = settings.DOXIE_READY_HEARTBEAT_SECONDS
        if age is None:
            problems["worker"] = "no worker heartbeat"
        elif age > limit:
            problems["worker"] = f"last worker heartbeat {int(age)} s ago (limit {limit} s)"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        log.warning("readiness check: database unavailable: %s", exc)
        connection.close_if_unusable_or_obsolete()
        problems = {"database": "unavailable"}
    if problems:
        response = JsonResponse({"status": "unavailable", "reasons": problems}, status=503)
        response["Retry-After"] = "5"
        return response
    return JsonResponse({"status": "ok", "database": "ok", "migrations": "ok", "worker": "ok"})


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
