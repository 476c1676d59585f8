"""The ``qr`` part of QR events (``kind: qr``) in ``doxie apply_config``, and the rules it
shares with P6 and the admin form (target URLs, colours, error correction, border).

``messaging.config`` owns the ``events`` section (slug, brand, parameters); this module
validates and applies only each QR event's ``qr`` mapping, after the events exist::

    qr:
      target_url: https://example.com/angebot   # http/https only
      valid_for_days: 30                        # omit: no expiry
      expired_url: https://example.com/ende     # omit: a branded 410 page
      style: {dark: "#111111", light: "#ffffff", error_correction: m, border: 4}
      store_full_ip: false                      # opt in to full scanner IPs
"""

from __future__ import annotations

import re
from typing import Any

from doxie.core.http import validate_url_syntax
from doxie.qrcodes.models import ErrorCorrection, QrEventConfig

SECTION = "events"
#: Registered as a part of ``events`` (run whenever the document has ``events``).
PART = "events.qr"
QR_KIND = "qr"
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_QR_KEYS = {"target_url", "valid_for_days", "expired_url", "style", "store_full_ip"}
_STYLE_KEYS = {"dark", "light", "error_correction", "border"}
MAX_BORDER = 16
MAX_VALID_DAYS = 36_500
DEFAULT_STYLE = {"dark": "#000000", "light": "#ffffff", "error_correction": "m", "border": 4}


def url_problem(url: Any) -> str | None:
    """Why ``url`` cannot be a redirect target: absolute http(s), a host, no spaces or
    control characters, no credentials, at most 2048 characters."""
    if not isinstance(url, str) or not url:
        return "must be an absolute http or https URL"
    if _CONTROL.search(url):
        return "must not contain spaces or control characters"
    problem = validate_url_syntax(url, allow_private=True, allow_http=True)
    return f"must be an absolute http or https URL ({problem})" if problem else None


def style_problems(where: str, style: Any) -> list[str]:
    if style is None:
        return []
    if not isinstance(style, dict):
        return [f"{where}: 'style' must be a mapping"]
    problems = [f"{where}.style: unknown key '{k}'" for k in style if k not in _STYLE_KEYS]
    for key in ("dark", "light"):
        value = style.get(key)
        if value is not None and not (isinstance(value, str) and _COLOR.match(value)):
            problems.append(f"{where}.style.{key}: must be a colour like '#111111'")
    level = style.get("error_correction")
    if level is not None and (not isinstance(level, str)
                              or level.lower() not in ErrorCorrection.values):
        problems.append(f"{where}.style.error_correction: must be one of l, m, q, h")
    border = style.get("border")
    if border is not None and (isinstance(border, bool) or not isinstance(border, int)
                               or not 0 <= border <= MAX_BORDER):
        problems.append(f"{where}.style.border: must be a whole number from 0 to {MAX_BORDER}")
    if style.get("dark") and style.get("dark") == style.get("light"):
        problems.append(f"{where}.style: dark and light must differ (the code would not scan)")
    return problems


def qr_problems(where: str, qr: Any) -> list[str]:
    """Every problem of one event's ``qr`` mapping (empty: valid)."""
    if not isinstance(qr, dict):
        return [f"{where}: 'qr' must be a mapping"]
    problems = [f"{where}.qr: unknown key '{k}'" for k in qr if k not in _QR_KEYS]
    for key in ("target_url", "expired_url"):
        if qr.get(key) is not None and (problem := url_problem(qr[key])):
            problems.append(f"{where}.qr.{key}: {problem}")
    days = qr.get("valid_for_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)
                             or not 1 <= days <= MAX_VALID_DAYS):
        problems.append(f"{where}.qr.valid_for_days: must be a whole number from 1 to "
                        f"{MAX_VALID_DAYS}")
    if qr.get("store_full_ip") is not None and not isinstance(qr["store_full_ip"], bool):
        problems.append(f"{where}.qr.store_full_ip: must be true or false")
    problems += style_problems(f"{where}.qr", qr.get("style"))
    return problems


def _events(document: Any) -> list[Any]:
    section = document.get(SECTION) if isinstance(document, dict) else None
    return section if isinstance(section, list) else []


def validate(tenant: Any, document: Any) -> list[str]:
    """Problems of the ``qr`` mappings (the rest of each event is messaging's to check)."""
    problems: list[str] = []
    for index, item in enumerate(_events(document)):
        if not isinstance(item, dict):
            continue
        where = f"{SECTION}[{index}]" + (f" ({item['slug']})" if isinstance(item.get("slug"),
                                                                        str) else "")
        if item.get("kind") == QR_KIND:
            if "qr" not in item:
                problems.append(f"{where}: a qr event needs a 'qr' mapping")
            else:
                problems += qr_problems(where, item["qr"])
        elif "qr" in item:
            problems.append(f"{where}: 'qr' is only allowed on events of kind qr")
    return problems


def values(qr: dict[str, Any]) -> dict[str, Any]:
    """Model field values of a valid ``qr`` mapping (absent keys take the defaults)."""
    style = {**DEFAULT_STYLE, **(qr.get("style") or {})}
    return {
        "target_url": qr.get("target_url") or "",
        "valid_for_days": qr.get("valid_for_days"),
        "expired_url": qr.get("expired_url") or "",
        "dark": style["dark"],
        "light": style["light"],
        "error_correction": str(style["error_correction"]).lower(),
        "border": style["border"],
        "store_full_ip": bool(qr.get("store_full_ip", False)),
    }


def apply(tenant: Any, document: Any, *, dry_run: bool) -> list[str]:
    """Create or update each QR event's settings; runs after the events were applied."""
    from doxie.processes.models import Event

    wanted = {
        item["slug"]: item["qr"] for item in _events(document)
        if isinstance(item, dict) and item.get("kind") == QR_KIND and "qr" in item
    }
    if not wanted:
        return []
    events = {e.slug: e for e in Event.objects.filter(tenant=tenant, slug__in=list(wanted))}
    configs = QrEventConfig.objects.filter(tenant=tenant, event__in=list(events.values()))
    existing = {c.event_id: c for c in configs}
    changes: list[str] = []
    for slug, qr in wanted.items():
        new = values(qr)
        event = events.get(slug)
        config = existing.get(event.id) if event is not None else None
        if config is None:
            changes.append(f"event '{slug}': qr settings created")
            if not dry_run and event is not None:
                QrEventConfig.objects.create(tenant=tenant, event=event, **new)
            continue
        fields = sorted(k for k, v in new.items() if getattr(config, k) != v)
        if fields:
            changes.append(f"event '{slug}': qr settings updated ({', '.join(fields)})")
            if not dry_run:
                for key, value in new.items():
                    setattr(config, key, value)
                config.save()
    return changes


def style_of(config: QrEventConfig | None) -> dict[str, Any]:
    """The image style a new code is printed with."""
    if config is None:
        return dict(DEFAULT_STYLE)
    return {"dark": config.dark, "light": config.light,
            "error_correction": config.error_correction, "border": config.border}
