"""Consent purposes as code: the ``consent_purposes:`` section of ``doxie apply_config``.

``validate`` checks the whole section without writing; ``apply`` creates or updates
purposes by slug and reports what it did (or would do, with ``dry_run``). Applying the same
document twice changes nothing. Purposes missing from the document are left alone: deleting
one would orphan consents that must stay provable.

    consent_purposes:
      - slug: marketing
        name: Marketing
        brand: example-brand
        doi_email_template:
          sender: noreply@example.com
          sender_name: Example            # optional
          subject: "Bitte bestätigen Sie Ihre Einwilligung"
          html: "<p><a href='{{ confirmation_url }}'>Jetzt bestätigen</a></p>"
          text: "Bestätigen: {{ confirmation_url }}"   # optional (derived when missing)
        doi_sms_template: {text: "Bitte bestätigen: {{ confirmation_url }}"}
        success_redirect_url: https://example.com/danke   # or success_page_html
        confirmation_validity_hours: 72
        resend_throttle_seconds: 300
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from email_validator import EmailNotValidError, validate_email

from doxie.brands.models import Brand
from doxie.consents import rendering
from doxie.consents.models import ConsentPurpose
from doxie.core.urlcheck import url_error
from doxie.tenants.models import Tenant

SECTION = "consent_purposes"
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,98}[a-z0-9])?$")
_TOP_KEYS = {
    "slug", "name", "brand", "doi_email_template", "doi_sms_template", "success_redirect_url",
    "success_page_html", "confirmation_validity_hours", "resend_throttle_seconds",
}
_EMAIL_KEYS = {"sender", "sender_name", "subject", "html", "text"}
_SMS_KEYS = {"text"}
#: Document key -> model field, for everything but the brand.
_FIELD_MAP = {
    ("name",): "name",
    ("doi_email_template", "sender"): "doi_email_sender",
    ("doi_email_template", "sender_name"): "doi_email_sender_name",
    ("doi_email_template", "subject"): "doi_email_subject",
    ("doi_email_template", "html"): "doi_email_html",
    ("doi_email_template", "text"): "doi_email_text",
    ("doi_sms_template", "text"): "doi_sms_text",
    ("success_redirect_url",): "success_redirect_url",
    ("success_page_html",): "success_page_html",
    ("confirmation_validity_hours",): "confirmation_validity_hours",
    ("resend_throttle_seconds",): "resend_throttle_seconds",
}
_DEFAULTS = {
    "confirmation_validity_hours": 72, "resend_throttle_seconds": 300, "success_page_html": "",
    "success_redirect_url": "",
}


def _section(document: Any) -> list[Any] | None:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        return document.get(SECTION)
    return None


def _doc_brand_slugs(document: Any) -> set[str]:
    """Brands the same document creates may be referenced before they exist."""
    brands = document.get("brands") if isinstance(document, dict) else None
    if not isinstance(brands, list):
        return set()
    return {b["slug"] for b in brands if isinstance(b, dict) and isinstance(b.get("slug"), str)}


def field_problems(values: dict[str, Any]) -> list[tuple[str, str]]:
    """Problems of one purpose's model field values, as (field, message); also used by the
    admin form so both ways of editing a purpose enforce the same rules."""
    problems: list[tuple[str, str]] = []
    sender = values.get("doi_email_sender") or ""
    if sender:
        try:
            validate_email(sender, check_deliverability=False)
        except EmailNotValidError as exc:
            problems.append(("doi_email_sender", f"is not a valid email address: {exc}"))
    # Syntax and a trial render with a sample context: a template that cannot render must
    # be refused here, not make every P1 for the purpose fail.
    for name in ("doi_email_subject", "doi_email_text", "doi_sms_text", "doi_email_html"):
        source = values.get(name)
        if isinstance(source, str) and source and (
            error := rendering.template_problem(source, html=name == "doi_email_html")
        ):
            problems.append((name, error))
    has_email = bool(values.get("doi_email_html") or values.get("doi_email_text"))
    if has_email and not (sender and values.get("doi_email_subject")):
        problems.append(("doi_email_template", "needs sender and subject"))
    if not has_email and not values.get("doi_sms_text"):
        problems.append(("doi_email_template", "an email or an SMS template is required"))
    url = values.get("success_redirect_url") or ""
    if url and (error := url_error(url)):
        problems.append(("success_redirect_url", error))
    for name, low, high in (
        ("confirmation_validity_hours", 1, 24 * 365),
        ("resend_throttle_seconds", 0, 7 * 24 * 3600),
    ):
        value = values.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            problems.append((name, f"must be an integer from {low} to {high}"))
    return problems


def _values(item: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = dict(_DEFAULTS)
    for path, field in _FIELD_MAP.items():
        node: Any = item
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None:
            values[field] = node
        elif len(path) == 2:
            values.setdefault(field, "")
    return values


def _item_problems(
    index: int, item: Any, brands: dict[str, list[str]], seen: set[str]
) -> list[str]:
    where = f"{SECTION}[{index}]"
    if not isinstance(item, dict):
        return [f"{where}: must be a mapping"]
    problems = [f"{where}.{key}: is not a known field" for key in sorted(set(item) - _TOP_KEYS)]
    slug = item.get("slug")
    if not isinstance(slug, str) or not _SLUG.match(slug):
        problems.append(f"{where}.slug: must be lower-case letters, digits, '-' or '_'")
    elif slug in seen:
        problems.append(f"{where}.slug: '{slug}' appears twice")
    else:
        seen.add(slug)
        where = f"{SECTION}[{slug}]"
    if not isinstance(item.get("name"), str) or not item["name"].strip():
        problems.append(f"{where}.name: is required")
    brand = item.get("brand")
    if not isinstance(brand, str) or brand not in brands:
        problems.append(f"{where}.brand: unknown brand '{brand}'")
    well_typed = True
    for key, allowed in (("doi_email_template", _EMAIL_KEYS), ("doi_sms_template", _SMS_KEYS)):
        part = item.get(key)
        if part is None:
            continue
        if not isinstance(part, dict):
            problems.append(f"{where}.{key}: must be a mapping")
            well_typed = False
            continue
        unknown = sorted(set(part) - allowed)
        problems += [f"{where}.{key}.{k}: is not a known field" for k in unknown]
        for k, v in part.items():
            if k in allowed and not isinstance(v, str):
                problems.append(f"{where}.{key}.{k}: must be text")
                well_typed = False
    for key in ("success_redirect_url", "success_page_html"):
        if item.get(key) is not None and not isinstance(item[key], str):
            problems.append(f"{where}.{key}: must be text")
            well_typed = False
    if not well_typed:
        return problems
    values = _values(item)
    problems += [f"{where}.{field}: {message}" for field, message in field_problems(values)]
    senders = {s.lower() for s in (brands.get(brand) or []) if isinstance(s, str)} if isinstance(
        brand, str
    ) else set()
    sender = values.get("doi_email_sender") or ""
    if senders and sender and sender.lower() not in senders:
        problems.append(
            f"{where}.doi_email_template.sender: is not one of the brand's possible sender emails"
        )
    return problems


def validate(tenant: Tenant, document: Any) -> list[str]:
    """Every problem of the section, as human-readable strings (empty: valid)."""
    section = _section(document)
    if section is None:
        return []
    if not isinstance(section, list):
        return [f"{SECTION}: must be a list"]
    brands: dict[str, list[str]] = {slug: [] for slug in _doc_brand_slugs(document)}
    brands.update(
        Brand.objects.filter(tenant=tenant).values_list("slug", "possible_sender_emails")
    )
    seen: set[str] = set()
    problems: list[str] = []
    for index, item in enumerate(section):
        problems += _item_problems(index, item, brands, seen)
    return problems


def apply(tenant: Tenant, document: Any, *, dry_run: bool) -> list[str]:
    """Create or update the purposes; returns one line per purpose (created/updated/unchanged).

    Call after ``validate`` returned nothing (and after brands were applied). Runs in the
    caller's transaction when there is one.
    """
    section = _section(document) or []
    changes: list[str] = []
    with transaction.atomic():
        for item in section:
            changes.append(_apply_one(tenant, item, dry_run=dry_run))
    return changes


def _apply_one(tenant: Tenant, item: dict[str, Any], *, dry_run: bool) -> str:
    slug = item["slug"]
    values = _values(item)
    values["success_page_html"] = rendering.sanitize_html(values["success_page_html"])
    brand = Brand.objects.filter(tenant=tenant, slug=item["brand"]).first()
    purpose = ConsentPurpose.objects.select_for_update().filter(tenant=tenant, slug=slug).first()
    if purpose is None:
        if not dry_run:
            if brand is None:
                raise ValueError(f"brand '{item['brand']}' does not exist")
            ConsentPurpose.objects.create(tenant=tenant, slug=slug, brand=brand, **values)
        return f"consent purpose '{slug}': created"
    changed = sorted(name for name, value in values.items() if getattr(purpose, name) != value)
    if brand is None or purpose.brand_id != brand.id:
        changed.append("brand")
    if not changed:
        return f"consent purpose '{slug}': unchanged"
    if not dry_run:
        for name, value in values.items():
            setattr(purpose, name, value)
        if brand is None:
            raise ValueError(f"brand '{item['brand']}' does not exist")
        purpose.brand = brand
        purpose.save()
    return f"consent purpose '{slug}': updated ({', '.join(changed)})"
