"""``doxie check --deploy``: Django's deployment checks plus Doxie's own.

Registered as Django system checks tagged ``deploy``, so they run only with ``--deploy``
(``check`` prints one line per finding and exits non-zero on an error). Each says what is
wrong and which variable fixes it.
"""

from __future__ import annotations

import os
import zoneinfo
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.checks import Warning as CheckWarning

_ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo")


@register(Tags.security, deploy=True)
def check_doxie_deploy(app_configs: Any = None, **kwargs: Any) -> list[Error | CheckWarning]:
    problems: list[Error | CheckWarning] = []
    if not getattr(settings, "PRODUCTION", False):
        problems.append(Error(
            "DOXIE_ENV is not 'production' (development defaults: demo tenant, private URLs).",
            hint="Set DOXIE_ENV=production.", id="doxie.E001"))
    for name in ("DOXIE_SECRET_KEY", "DOXIE_ENCRYPTION_KEYS"):
        if not _env(name):
            problems.append(Error(
                f"{name} is not set: the key is generated into the data folder, and lost "
                "with it.", hint=f"Set {name} from your secret store.", id="doxie.E002"))
    public = urlparse(settings.DOXIE_PUBLIC_URL)
    if public.scheme != "https":
        problems.append(Error(
            f"DOXIE_PUBLIC_URL is not https ({settings.DOXIE_PUBLIC_URL}): secret links and "
            "sessions would travel in clear text.", hint="Set DOXIE_PUBLIC_URL=https://...",
            id="doxie.E003"))
    if settings.DOXIE_ALLOW_PRIVATE_URLS:
        problems.append(Error(
            "DOXIE_ALLOW_PRIVATE_URLS is on: tenant webhooks and SMTP hosts may reach the "
            "internal network (SSRF).", hint="Unset DOXIE_ALLOW_PRIVATE_URLS.",
            id="doxie.E004"))
    if settings.DOXIE_METRICS and not (settings.DOXIE_METRICS_TOKEN or
                                       settings.DOXIE_METRICS_PORT):
        problems.append(Error(
            "DOXIE_METRICS=1 without DOXIE_METRICS_TOKEN or DOXIE_METRICS_PORT: /metrics "
            "would be unprotected.", hint="Set DOXIE_METRICS_TOKEN or serve metrics on a "
            "private --metrics-port.", id="doxie.E005"))
    elif settings.DOXIE_METRICS_TOKEN and len(settings.DOXIE_METRICS_TOKEN) < 24:
        problems.append(Error("DOXIE_METRICS_TOKEN is shorter than 24 characters.",
                              hint="Use a long random token.", id="doxie.E006"))
    if "*" in settings.ALLOWED_HOSTS:
        problems.append(Error(
            "DOXIE_ALLOWED_HOSTS is '*': any Host header is accepted.",
            hint=f"Set DOXIE_ALLOWED_HOSTS={public.hostname or 'your.host'}",
            id="doxie.E007"))
    if settings.DEBUG:
        problems.append(Error("DOXIE_DEBUG is on.", hint="Unset DOXIE_DEBUG.", id="doxie.E008"))
    if not getattr(settings, "DATABASE_URL", ""):
        problems.append(Error(
            "No DATABASE_URL: the embedded development PostgreSQL is in use.",
            hint="Set DATABASE_URL=postgresql://...", id="doxie.E009"))
    media = settings.MEDIA_ROOT
    try:
        media.mkdir(parents=True, exist_ok=True)
        writable = (media / ".").exists()
    except OSError:
        writable = False
    if not writable:
        problems.append(Error(f"Uploads storage {media} is not usable.",
                              hint="Set DOXIE_DATA_DIR to a persistent, writable volume.",
                              id="doxie.E010"))
    problems.extend(_timezones())
    if getattr(settings, "DOXIE_LOG_FORMAT", "json") != "json":
        problems.append(CheckWarning("DOXIE_LOG_FORMAT is not json in production.",
                                hint="Set DOXIE_LOG_FORMAT=json.", id="doxie.W001"))
    return problems


def _timezones() -> list[Error]:
    """Send windows and ``scheduled_at`` in local time need the IANA database."""
    try:
        for zone in _ZONES:
            zoneinfo.ZoneInfo(zone)
    except zoneinfo.ZoneInfoNotFoundError:
        return [Error("Time zone data is missing (zoneinfo cannot load Europe/Berlin).",
                      hint="Install the tzdata package (Debian: tzdata; pip: tzdata).",
                      id="doxie.E011")]
    return []


def _env(name: str) -> str:
    return os.environ.get(name, "")
