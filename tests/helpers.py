"""Test helpers: an API client that speaks JSON and makers for tenants and callers."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

PASSWORD = "Sup3r-Secret-Pass!"


@dataclass
class Caller:
    """Headers for one identity; ``api`` issues requests with them."""

    headers: dict[str, str]


class ApiClient:
    """A thin JSON wrapper around Django's test client (the real request stack)."""

    def __init__(self) -> None:
        self.client = Client(raise_request_exception=False)

    def request(
        self, method: str, path: str, body: Any = None, caller: Caller | None = None,
        headers: dict[str, str] | None = None, raw: bytes | None = None,
        content_type: str = "application/json",
    ):
        all_headers = {**(caller.headers if caller else {}), **(headers or {})}
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        kwargs: dict[str, Any] = {"headers": all_headers}
        if method in {"post", "put", "patch", "delete"}:
            kwargs.update(data=data, content_type=content_type)
        elif body is not None:
            kwargs["data"] = body
        return getattr(self.client, method)(path, **kwargs)

    def get(self, path: str, **kw):
        return self.request("get", path, **kw)

    def post(self, path: str, body: Any = None, **kw):
        return self.request("post", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw):
        return self.request("patch", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw):
        return self.request("put", path, body, **kw)

    def delete(self, path: str, **kw):
        return self.request("delete", path, **kw)


def make_tenant(slug: str | None = None):
    from doxie.tenants import services

    return services.create_tenant(slug=slug or f"t-{secrets.token_hex(3)}")


def basic_caller(username: str, password: str) -> Caller:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return Caller({"Authorization": f"Basic {token}"})


def make_api_caller(tenant, username: str = "api-client") -> Caller:
    from doxie.tenants import services

    services.create_api_user(
        tenant=tenant, username=username, password=PASSWORD, password_confirmation=PASSWORD
    )
    return basic_caller(username, PASSWORD)


def make_admin_caller(tenant, *, read: bool = True, write: bool = True,
                      scope: str = "read write") -> Caller:
    """A member user with an access token, stored the way django-oauth-toolkit stores it."""
    from django.contrib.auth import get_user_model
    from oauth2_provider.models import get_access_token_model

    from doxie.tenants import services

    user = get_user_model().objects.create(username=f"u-{secrets.token_hex(4)}")
    if tenant is not None:
        services.grant_membership(tenant=tenant, user=user, can_read=read, can_write=write)
    raw = secrets.token_urlsafe(30)
    get_access_token_model().objects.create(
        user=user, token=raw, scope=scope, expires=timezone.now() + timedelta(hours=1)
    )
    return Caller({"Authorization": f"Bearer {raw}"})


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a `doxie` child process that uses the test database."""
    import os
    from urllib.parse import quote

    from django.db import connection

    db = connection.settings_dict
    host = db["HOST"] or ""
    if host.startswith("/"):
        url = f"postgresql://{quote(db['USER'])}@/{db['NAME']}?host={quote(host)}"
    else:
        url = f"postgresql://{quote(db['USER'])}@{host}:{db['PORT'] or 5432}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, **extra}


def run_doxie(*args: str, env: dict[str, str] | None = None):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "doxie.cli", *args],
        env=env or subprocess_env(), capture_output=True, text=True, timeout=120,
    )


def run_jobs(queues: list[str] | None = None) -> None:
    """Run a real procrastinate worker until the queue is empty (as `doxie worker` does).

    The worker needs its own async connector; it sees only committed jobs, so callers use
    ``django_db(transaction=True)``.
    """
    from doxie.core.jobs import app

    with app.replace_connector(app.connector.get_worker_connector()) as worker_app:
        worker_app.run_worker(
            queues=queues, wait=False, install_signal_handlers=False, listen_notify=False,
            delete_jobs="never",
        )
