"""Client address as we trust it: X-Forwarded-For only from configured proxies."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in settings.DOXIE_TRUSTED_PROXIES:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_ip(request: HttpRequest) -> str:
    """The first untrusted hop, walking X-Forwarded-For from the right."""
    remote = request.META.get("REMOTE_ADDR") or ""
    if not _trusted(remote):
        return remote
    forwarded = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed([h for h in forwarded if h]):
        if not _trusted(hop):
            return hop
    return remote
