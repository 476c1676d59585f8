"""Request ids, JSON logs, /readyz with the worker heartbeat, /metrics and its protection."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.db import connection
from django.test import Client

from doxie.core import logs
from doxie.core import views as core_views

# --- request id and log format ------------------------------------------------------------


@pytest.mark.django_db
def test_request_id_is_accepted_when_sane_and_generated_otherwise():
    client = Client()
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123-DEF.456"})
    assert given["X-Request-ID"] == "abc-123-DEF.456"
    made = client.get("/healthz")
    assert len(made["X-Request-ID"]) == 32
    bad_ids = ("short", "x" * 200, "a b c d e f g h", "max@example.com-1234", "<b>x</b>")
    for bad in bad_ids:
        answer = client.get("/healthz", headers={"X-Request-ID": bad})
        assert answer["X-Request-ID"] != bad and len(answer["X-Request-ID"]) == 32


def _json_handler() -> tuple[logging.Handler, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    return handler, stream


@pytest.mark.django_db
def test_json_lines_carry_request_id_and_tenant(api, api_caller):
    handler, stream = _json_handler()
    probe = logging.getLogger("doxie.test.probe")
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with logs.bind(request_id="req-0123456789", tenant="acme", process="p-1"):
            probe.warning("sending %s", "something")
        probe.warning("outside")
    finally:
        root.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["request_id"] == "req-0123456789" and first["tenant"] == "acme"
    assert first["process"] == "p-1" and first["level"] == "WARNING"
    assert first["logger"] == "doxie.test.probe" and first["message"] == "sending something"
    assert first["time"].endswith("Z")
    assert "request_id" not in second


def test_redaction_removes_addresses_phones_and_credentials():
    line = logs.redact(
        "to max@example.com phone +49 151 1234 5678 Authorization: Bearer abcdefghijkl "
        "token=s3cr3t-v4lue password: hunter22 at https://x.test/doi/AbCdEfGhIjKlMnOpQrStUv "
        "at 2026-12-01 22:52:57 brand 42 message 1234567"
    )
    for secret in ("max@example.com", "1234 5678", "abcdefghijkl", "s3cr3t", "hunter22",
                   "AbCdEfGhIjKlMnOpQrStUv"):
        assert secret not in line
    assert "2026-12-01 22:52:57" in line and "brand 42 message 1234567" in line


# --- readiness ------------------------------------------------------------------------------


def _workers(*ages: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_workers")
        for age in ages:
            cursor.execute("INSERT INTO procrastinate_workers (last_heartbeat) "
                           "VALUES (now() - make_interval(secs => %s))", [age])


@pytest.mark.django_db
def test_readyz_needs_a_recent_worker_heartbeat(settings):
    settings.DOXIE_READY_HEARTBEAT_SECONDS = 30
    client = Client()
    _workers()
    missing = client.get("/readyz")
    assert missing.status_code == 503
    assert missing.json()["reasons"] == {"worker": "no worker heartbeat"}
    _workers(120)
    stale = client.get("/readyz")
    assert stale.status_code == 503 and "120 s ago" in stale.json()["reasons"]["worker"]
    _workers(120, 3)
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.content
    assert ready.json()["status"] == "ok"


@pytest.mark.django_db
def test_readyz_reports_unapplied_migrations(monkeypatch):
    _workers(1)
    core_views._migrations_ok_at = None
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, app, name, applied FROM django_migrations "
                       "WHERE app = 'core' ORDER BY id DESC LIMIT 1")
        row = cursor.fetchone()
        cursor.execute("DELETE FROM django_migrations WHERE id = %s", [row[0]])
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["reasons"] == {"migrations": "unapplied migrations"}
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO django_migrations (id, app, name, applied) "
                       "VALUES (%s, %s, %s, %s)", list(row))
    core_views._migrations_ok_at = None
    assert Client().get("/readyz").status_code == 200


# --- metrics --------------------------------------------------------------------------------

TOKEN = "m" * 32


@pytest.fixture
def metrics_on(settings):
    settings.DOXIE_METRICS = True
    settings.DOXIE_METRICS_TOKEN = TOKEN


def scrape() -> str:
    response = Client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def value(text: str, name: str, **labels: str) -> float:
    """A sample's value in a scrape (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        metric, _, number = line.rpartition(" ")
        head, _, rest = metric.partition("{")
        if head != name:
            continue
        found = dict(part.split("=", 1) for part in rest.rstrip("}").split(",") if part)
        if all(found.get(k) == f'"{v}"' for k, v in labels.items()):
            return float(number)
    return 0.0


@pytest.mark.django_db
def test_metrics_off_by_default_and_protected(settings):
    client = Client()
    assert client.get("/metrics").status_code == 404
    settings.DOXIE_METRICS = True
    settings.DOXIE_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404  # enabled but unprotected: not served
    settings.DOXIE_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


@pytest.mark.django_db
def test_http_metrics_use_route_templates(metrics_on, api, api_caller, tenant):
    before = scrape()
    route = "/api/v1/<key:tenant>/mpm/consents/initiate"
    old = value(before, "doxie_http_requests_total", route=route, method="POST", status="422")
    response = api.post("/api/v1/acme/mpm/consents/initiate", {}, caller=api_caller)
    assert response.status_code in (400, 422)
    after = scrape()
    status = str(response.status_code)
    assert value(after, "doxie_http_requests_total", route=route, method="POST",
                 status=status) >= (old if status == "422" else 0) + 1, after
    assert "/api/v1/acme/" not in after  # never the raw path
    assert value(after, "doxie_http_request_duration_seconds_count", route=route) >= 1
    Client().get("/no/such/page/123")
    assert value(scrape(), "doxie_http_requests_total", route="unmatched", method="GET",
                 status="404") >= 1


@pytest.mark.django_db
def test_scrape_gauges_from_the_database(metrics_on):
    _workers(7)
    text = scrape()
    assert 6 <= value(text, "doxie_worker_heartbeat_age_seconds") < 60
    assert value(text, "doxie_message_queue_depth", channel="email") == 0
    assert "doxie_webhook_queue_depth" in text and "doxie_job_lag_seconds" in text
    _workers()
    assert value(scrape(), "doxie_worker_heartbeat_age_seconds") == float("inf")


# --- deploy checks --------------------------------------------------------------------------


def test_check_deploy_flags_an_insecure_configuration(tmp_path):
    from tests.helpers import run_doxie, subprocess_env

    env = subprocess_env(DOXIE_DATA_DIR=str(tmp_path), DOXIE_METRICS="1",
                         DOXIE_PUBLIC_URL="http://doxie.example.com",
                         DOXIE_ALLOW_PRIVATE_URLS="1")
    env.pop("DOXIE_SECRET_KEY", None)
    result = run_doxie("check", "--deploy", env=env)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    for code in ("doxie.E001", "doxie.E002", "doxie.E003", "doxie.E004", "doxie.E005",
                 "doxie.E007", "security.W004"):
        assert code in out, out


def test_check_deploy_passes_a_production_configuration(tmp_path):
    from cryptography.fernet import Fernet

    from tests.helpers import run_doxie, subprocess_env

    env = subprocess_env(
        DOXIE_DATA_DIR=str(tmp_path), DOXIE_ENV="production", DOXIE_SECRET_KEY="k" * 60,
        DOXIE_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        DOXIE_PUBLIC_URL="https://doxie.example.com", DOXIE_ALLOWED_HOSTS="doxie.example.com",
        DOXIE_METRICS="1", DOXIE_METRICS_TOKEN=TOKEN,
    )
    env.pop("DOXIE_ALLOW_PRIVATE_URLS", None)
    result = run_doxie("check", "--deploy", env=env)
    out = result.stdout + result.stderr
    assert "doxie.E" not in out, out
