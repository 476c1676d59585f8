"""GET /healthz: 200 with a working database, 503 quickly when it is unreachable."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from django.test import Client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db
def test_health_ok():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_health_503_fast_when_database_unreachable(tmp_path):
    """A real `doxie serve` whose database is down answers 503 within 2 s, never hangs."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/nope",
        "DOXIE_DATA_DIR": str(tmp_path),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "doxie.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        response = None
        while time.monotonic() < deadline:
            try:
                started = time.monotonic()
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                elapsed = time.monotonic() - started
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert response is not None, "server did not start"
        assert response.status_code == 503
        assert response.json() == {"status": "degraded", "database": "unavailable"}
        assert response.headers["Retry-After"]
        assert elapsed < 2.5
        # The API answers 503 with an envelope too, not a 500.
        api = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/acme/whoami", auth=("a", "b"), timeout=5
        )
        assert api.status_code == 503
        assert api.json()["success"] is False
        assert api.headers["Retry-After"]
    finally:
        server.terminate()
        server.wait(timeout=10)
