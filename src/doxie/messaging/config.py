"""Events and templates as code: the ``events:`` section of ``doxie apply_config``.

``validate`` checks the whole section without writing (brands exist, senders are allowed for
the brand, every template compiles in the sandbox, no unknown or missing keys); ``apply``
makes the database match it and returns one line per change (nothing when nothing changed).

Matching rules: events by slug (events missing from the document are left alone — they may
be managed in the admin UI); templates by name within their event and kind, and a template
missing from the document is **deleted**, so the file is the whole truth for the events it
lists. Template order in the file is their position.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction

from doxie.messaging.models import EmailTemplate, RcsTemplate, SmsTemplate
from doxie.messaging.rendering import syntax_error
from doxie.processes.models import Event, EventKind
from doxie.tenants.models import Tenant

SECTION = "events"
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,98}[a-z0-9])?$")
_PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_SMS_SENDER = re.compile(r"^(?:[A-Za-z0-9 .-]{1,11}|\+?\d{1,16})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EVENT_KEYS = {
    "slug", "name", "kind", "brand", "parameters", "required_consent", "settings",
    "email_templates", "sms_templates", "rcs_templates",
    "journey",  # an injector event's steps: the journeys app's "events.journey" section
    "qr",  # validated and applied by doxie.qrcodes.config
    "survey",  # a survey event's definition: validated and applied by the surveys app
}
#: kind -> (model, {key: (default or REQUIRED, is_template, is_html)})
REQUIRED = object()
_TEMPLATE_SPECS: dict[str, tuple[type, dict[str, tuple[Any, bool, bool]]]] = {
    "email_templates": (EmailTemplate, {
        "name": (REQUIRED, False, False), "sender": (REQUIRED, False, False),
        "sender_name": ("", False, False), "to": (REQUIRED, True, False),
        "subject": (REQUIRED, True, False), "html": ("", True, True),
        "text": ("", True, False), "reply_to": ("", True, False),
        "track_links": (True, False, False),
    }),
    "sms_templates": (SmsTemplate, {
        "name": (REQUIRED, False, False), "to": (REQUIRED, True, False),
        "text": (REQUIRED, True, False), "sender": ("", False, False),
    }),
    "rcs_templates": (RcsTemplate, {
        "name": (REQUIRED, False, False), "to": (REQUIRED, True, False),
        "content": (REQUIRED, False, False), "sender": ("", False, False),
    }),
}
_NOUN = {"email_templates": "email template", "sms_templates": "SMS template",
         "rcs_templates": "RCS template"}


def _section(document: Any) -> Any:
    return document.get(SECTION) if isinstance(document, dict) else None


def normalize_parameters(raw: Any) -> list[dict[str, Any]]:
    """``[{name, required}]`` from the document (a bare string means optional)."""
    out = []
    for item in raw or []:
        if isinstance(item, str):
            out.append({"name": item, "required": False})
        else:
            out.append({"name": item.get("name"), "required": bool(item.get("required", False))})
    return out


def content_strings(value: Any, path: str) -> list[tuple[str, str]]:
    """(path, string) for every string inside an RCS content value."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, list):
        return [s for i, item in enumerate(value) for s in content_strings(item, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [s for k, item in value.items() for s in content_strings(item, f"{path}.{k}")]
    return []


def _template_problems(
    where: str, kind: str, item: Any, brand: dict[str, Any] | None
) -> list[str]:
    _, spec = _TEMPLATE_SPECS[kind]
    if not isinstance(item, dict):
        return [f"{where}: must be a mapping"]
    problems = [f"{where}: unknown key '{key}'" for key in item if key not in spec]
    for key, (default, is_template, is_html) in spec.items():
        value = item.get(key)
        if value is None:
            if default is REQUIRED:
                problems.append(f"{where}: '{key}' is required")
            continue
        if key == "track_links":
            if not isinstance(value, bool):
                problems.append(f"{where}: 'track_links' must be true or false")
        elif key == "content":
            if not isinstance(value, dict) or not isinstance(value.get("text"), str):
                problems.append(f"{where}: 'content' must be a mapping with a 'text'")
            else:
                problems += [
                    f"{where}.{path}: {error}" for path, text in content_strings(value, "content")
                    if (error := syntax_error(text))
                ]
        elif not isinstance(value, str):
            problems.append(f"{where}: '{key}' must be a string")
        elif is_template and (error := syntax_error(value, html=is_html)):
            problems.append(f"{where}.{key}: {error}")
    if kind == "email_templates":
        if not (item.get("html") or item.get("text")):
            problems.append(f"{where}: needs 'html' or 'text'")
        sender = item.get("sender")
        if isinstance(sender, str) and brand is not None:
            allowed = {s.lower() for s in brand["senders"]}
            if not _EMAIL.match(sender):
                problems.append(f"{where}: sender '{sender}' is not an email address")
            elif sender.lower() not in allowed:
                problems.append(
                    f"{where}: sender '{sender}' is not one of brand '{brand['slug']}'s "
                    f"possible_sender_emails ({', '.join(sorted(allowed)) or 'none'})"
                )
    sender = item.get("sender")
    if kind == "sms_templates" and isinstance(sender, str) and sender:
        if not _SMS_SENDER.match(sender):
            problems.append(f"{where}: sender must be up to 11 letters/digits or a number")
    if kind == "rcs_templates" and isinstance(sender, str) and sender and brand is not None:
        if sender not in brand["rcs_senders"]:
            problems.append(f"{where}: sender '{sender}' is not one of brand "
                            f"'{brand['slug']}'s rcs_possible_senders")
    return problems


def _event_problems(index: int, item: Any, brands: dict[str, dict], seen: set[str]) -> list[str]:
    if not isinstance(item, dict):
        return [f"{SECTION}[{index}]: must be a mapping"]
    slug = item.get("slug")
    where = f"{SECTION}[{index}]" + (f" ({slug})" if isinstance(slug, str) else "")
    problems = [f"{where}: unknown key '{key}'" for key in item if key not in _EVENT_KEYS]
    if not isinstance(slug, str) or not _SLUG.match(slug):
        problems.append(f"{where}: 'slug' is required: lower-case letters, digits, '-', '_'")
    elif slug in seen:
        problems.append(f"{where}: slug '{slug}' appears twice")
    else:
        seen.add(slug)
    kind = item.get("kind", EventKind.MAILER)
    if kind not in EventKind.values:
        problems.append(f"{where}: kind must be one of {', '.join(EventKind.values)}")
    brand = None
    if not isinstance(item.get("brand"), str):
        problems.append(f"{where}: 'brand' (a brand slug) is required")
    elif (brand := brands.get(item["brand"])) is None:
        problems.append(f"{where}: brand '{item['brand']}' does not exist for this tenant")
    for key in ("name", "required_consent"):
        if item.get(key) is not None and not isinstance(item[key], str):
            problems.append(f"{where}: '{key}' must be a string")
    consent = item.get("required_consent")
    if isinstance(consent, str) and consent and not _SLUG.match(consent):
        problems.append(f"{where}: required_consent must be a consent purpose slug")
    if item.get("settings") is not None and not isinstance(item["settings"], dict):
        problems.append(f"{where}: 'settings' must be a mapping")
    problems += parameter_problems(where, item.get("parameters"))
    for kind_key in _TEMPLATE_SPECS:
        templates = item.get(kind_key)
        if templates is None:
            continue
        if not isinstance(templates, list):
            problems.append(f"{where}: '{kind_key}' must be a list")
            continue
        names: set[str] = set()
        for i, template in enumerate(templates):
            name = template.get("name") if isinstance(template, dict) else None
            spot = f"{where}.{kind_key}[{i}]" + (f" ({name})" if isinstance(name, str) else "")
            if isinstance(name, str):
                if name in names:
                    problems.append(f"{spot}: name '{name}' appears twice")
                names.add(name)
            problems += _template_problems(spot, kind_key, template, brand)
    return problems


def parameter_problems(where: str, raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        return [f"{where}: 'parameters' must be a list"]
    problems, names = [], set()
    for i, item in enumerate(raw):
        spot = f"{where}.parameters[{i}]"
        if isinstance(item, dict):
            unknown = set(item) - {"name", "required"}
            problems += [f"{spot}: unknown key '{key}'" for key in sorted(unknown)]
            if not isinstance(item.get("required", False), bool):
                problems.append(f"{spot}: 'required' must be true or false")
            name = item.get("name")
        else:
            name = item
        if not isinstance(name, str) or not _PARAM.match(name):
            problems.append(f"{spot}: name must be an identifier (letters, digits, '_')")
        elif name in names:
            problems.append(f"{spot}: parameter '{name}' appears twice")
        else:
            names.add(name)
    return problems


def validate(tenant: Tenant, document: Any) -> list[str]:
    """Every problem of the section as one-line strings (empty: valid). Writes nothing."""
    from doxie.brands.models import Brand

    section = _section(document)
    if section is None:
        return []
    if not isinstance(section, list):
        return [f"{SECTION}: must be a list"]
    brands = {
        slug: {"slug": slug, "senders": senders or [], "rcs_senders": rcs or []}
        for slug, senders, rcs in Brand.objects.filter(tenant=tenant).values_list(
            "slug", "possible_sender_emails", "rcs_possible_senders"
        )
    }
    seen: set[str] = set()
    problems: list[str] = []
    for index, item in enumerate(section):
        problems += _event_problems(index, item, brands, seen)
    return problems


# --- apply ------------------------------------------------------------------------------------


def _event_values(item: dict[str, Any], brand_id: int) -> dict[str, Any]:
    return {
        "name": item.get("name") or "",
        "kind": item.get("kind", EventKind.MAILER),
        "brand_id": brand_id,
        "parameters": normalize_parameters(item.get("parameters")),
        "required_consent_slug": item.get("required_consent") or "",
        "settings": item.get("settings") or {},
    }


def _template_values(kind: str, item: dict[str, Any], position: int) -> dict[str, Any]:
    _, spec = _TEMPLATE_SPECS[kind]
    values = {
        key: (item[key] if item.get(key) is not None else default)
        for key, (default, _t, _h) in spec.items() if key != "name"
    }
    values["position"] = position
    return values


def _changed(obj: Any, values: dict[str, Any]) -> list[str]:
    return sorted(name for name, value in values.items() if getattr(obj, name) != value)


def apply(tenant: Tenant, document: Any, *, dry_run: bool) -> list[str]:
    """Make the events and templates match the document; returns the changes (made, or that
    would be made with ``dry_run``). Call after ``validate`` returned nothing."""
    from doxie.brands.models import Brand

    section = _section(document) or []
    brands = dict(Brand.objects.filter(tenant=tenant).values_list("slug", "id"))
    changes: list[str] = []
    with transaction.atomic():
        for item in section:
            changes += _apply_event(tenant, item, brands[item["brand"]], dry_run=dry_run)
    return changes


def _apply_event(tenant: Tenant, item: dict[str, Any], brand_id: int, *, dry_run: bool):
    slug = item["slug"]
    values = _event_values(item, brand_id)
    event = Event.objects.select_for_update().filter(tenant=tenant, slug=slug).first()
    changes = []
    if event is None:
        changes.append(f"event '{slug}': created")
        if not dry_run:
            event = Event.objects.create(tenant=tenant, slug=slug, **values)
    elif fields := _changed(event, values):
        changes.append(f"event '{slug}': updated ({', '.join(fields)})")
        if not dry_run:
            for name, value in values.items():
                setattr(event, name, value)
            event.save()
    for kind, (model, _spec) in _TEMPLATE_SPECS.items():
        existing = {t.name: t for t in model.objects.filter(event=event)} if event else {}
        wanted = item.get(kind) or []
        for position, spec in enumerate(wanted):
            name, noun = spec["name"], _NOUN[kind]
            values = _template_values(kind, spec, position)
            template = existing.pop(name, None)
            if template is None:
                changes.append(f"event '{slug}': {noun} '{name}' created")
                if not dry_run:
                    model.objects.create(tenant=tenant, event=event, name=name, **values)
            elif fields := _changed(template, values):
                changes.append(f"event '{slug}': {noun} '{name}' updated ({', '.join(fields)})")
                if not dry_run:
                    for key, value in values.items():
                        setattr(template, key, value)
                    template.save()
        for name, template in existing.items():
            changes.append(f"event '{slug}': {_NOUN[kind]} '{name}' deleted")
            if not dry_run:
                template.delete()
    return changes
