"""Brand use cases: create, update and delete, with Rails-style nested attributes.

Update semantics (the contract's, from the original Rails product):

* a top-level key that is omitted keeps the stored value; PATCH and PUT behave the same;
* ``<part>_attributes`` creates the one-to-one record the first time and updates the same
  record (same id) afterwards; omitted or null keeps it; ``"_destroy": true`` removes it;
* a secret sent as ``"********"`` keeps the stored value, ``null`` (or ``""``) clears it.

Every rule is checked on the merged state before anything is written, and all problems are
reported at once as field-level details using the request's paths (``brand.…``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Model, ProtectedError, RestrictedError

from doxie.brands import selectors, validation
from doxie.brands.models import (
    Brand,
    BrandPart,
    MailjetApiUser,
    MailProvider,
    SesApiUser,
    SmtpConfig,
    Style,
)
from doxie.core.crypto import keep_or_replace
from doxie.core.db import savepoint
from doxie.core.errors import Conflict, FieldError, Invalid, NotFound

if TYPE_CHECKING:
    from doxie.tenants.models import Tenant

Check = Callable[[Any], str | None]


def _not_blank(value: str) -> str | None:
    return None if value.strip() else "must not be blank"


@dataclass(frozen=True)
class FieldRules:
    """How the attributes of one record are assigned and checked."""

    fields: tuple[str, ...]
    secrets: tuple[str, ...] = ()
    non_null: tuple[str, ...] = ()
    checks: dict[str, Check] = field(default_factory=dict)
    item_checks: dict[str, Check] = field(default_factory=dict)  # per list element


@dataclass(frozen=True)
class PartSpec:
    key: str  # request key, e.g. "smtp_config_attributes"
    accessor: str  # Brand's reverse one-to-one, e.g. "smtp_config"
    model: type[BrandPart]
    rules: FieldRules


BRAND_RULES = FieldRules(
    fields=(
        "name",
        "slug",
        "sender_phone_number",
        "possible_sender_emails",
        "rcs_possible_senders",
        "pseudonymization_duration_of_sent_messages_in_days",
        "storage_duration_of_sent_messages_in_days",
        "mail_provider",
        "mailjet_sandbox_mode",
        "sms77_api_key",
        "rcs_api_key",
    ),
    secrets=("sms77_api_key", "rcs_api_key"),
    non_null=(
        "name",
        "slug",
        "possible_sender_emails",
        "rcs_possible_senders",
        "pseudonymization_duration_of_sent_messages_in_days",
        "storage_duration_of_sent_messages_in_days",
        "mailjet_sandbox_mode",
    ),
    checks={
        "name": _not_blank,
        "slug": validation.slug_error,
        "sender_phone_number": validation.phone_error,
        "pseudonymization_duration_of_sent_messages_in_days": validation.retention_error,
        "storage_duration_of_sent_messages_in_days": validation.retention_error,
        "mail_provider": lambda v: None if v in MailProvider.values else "is not supported",
    },
    item_checks={
        "possible_sender_emails": validation.email_error,
        "rcs_possible_senders": validation.rcs_sender_error,
    },
)

_COLORS = ("primary_color", "secondary_color", "light_accent_color", "dark_accent_color")
_FONTS = ("font_family", "fallback_font_family", "pages_font_family", "pages_headline_font_family")
_FONT_PATHS = ("pages_font_family_path", "pages_headline_font_family_path")
_FONT_WEIGHTS = ("pages_font_family_weight", "pages_headline_font_family_weight")

PARTS: tuple[PartSpec, ...] = (
    PartSpec(
        "mailjet_api_user_attributes",
        "mailjet_api_user",
        MailjetApiUser,
        FieldRules(fields=("public_api_key", "private_api_key"), secrets=("private_api_key",)),
    ),
    PartSpec(
        "ses_api_user_attributes",
        "ses_api_user",
        SesApiUser,
        FieldRules(
            fields=("access_key_id", "secret_access_key", "region"),
            secrets=("secret_access_key",),
            checks={"region": validation.aws_region_error},
        ),
    ),
    PartSpec(
        "smtp_config_attributes",
        "smtp_config",
        SmtpConfig,
        FieldRules(
            fields=(
                "address",
                "port",
                "user_name",
                "password",
                "authentication",
                "enable_starttls_auto",
                "enable_ssl",
                "openssl_verify_mode",
                "domain",
                "envelope_from",
            ),
            secrets=("password",),
            non_null=("port", "enable_starttls_auto", "enable_ssl"),
            checks={
                "address": validation.smtp_host_error,
                "port": validation.port_error,
                "domain": validation.hostname_error,
                "envelope_from": validation.email_error,
            },
        ),
    ),
    PartSpec(
        "style_attributes",
        "style",
        Style,
        FieldRules(
            fields=(*_COLORS, "border_radius", *_FONTS, *_FONT_PATHS, *_FONT_WEIGHTS),
            non_null=("fallback_font_family", *_FONT_WEIGHTS),
            checks={
                **dict.fromkeys(_COLORS, validation.hex_color_error),
                "border_radius": validation.css_length_error,
                **dict.fromkeys(_FONTS, validation.font_family_error),
                **dict.fromkeys(_FONT_PATHS, validation.font_path_error),
            },
            item_checks=dict.fromkeys(_FONT_WEIGHTS, validation.font_weight_error),
        ),
    ),
)
PARTS_BY_KEY = {spec.key: spec for spec in PARTS}

#: What a brand needs before it may select a mail provider: (request key, required fields).
REQUIRED_CREDENTIALS: dict[str, tuple[str, tuple[str, ...]]] = {
    MailProvider.MAILJET: ("mailjet_api_user_attributes", ("public_api_key", "private_api_key")),
    MailProvider.SES: (
        "ses_api_user_attributes",
        ("access_key_id", "secret_access_key", "region"),
    ),
    MailProvider.SMTP: ("smtp_config_attributes", ("address",)),
}


class _Errors:
    """Collects field errors under the request's ``brand.`` prefix."""

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(FieldError(f"brand.{path}", message))

    def raise_if_any(self) -> None:
        if self.items:
            summary = "; ".join(f"{e.field}: {e.message}" for e in self.items[:5])
            raise Invalid(self.items, message=f"Validation failed: {summary}")


def _assign(
    target: Model, attrs: dict[str, Any], rules: FieldRules, path: str, errors: _Errors
) -> None:
    """Copy the given attributes onto ``target``; invalid values are reported, not set."""
    for name in rules.fields:
        if name not in attrs:
            continue
        value = attrs[name]
        if value == "" and name not in rules.non_null:
            value = None  # a blank form field means "none", as in the original product
        if name in rules.secrets:
            setattr(target, name, keep_or_replace(getattr(target, name), value, given=True))
            continue
        if value is None:
            if name in rules.non_null:
                errors.add(f"{path}{name}", "must not be null")
            else:
                setattr(target, name, None)
            continue
        check = rules.checks.get(name)
        problem = check(value) if check else None
        if problem:
            errors.add(f"{path}{name}", problem)
            continue
        item_check = rules.item_checks.get(name)
        if item_check:
            problems = [(i, item_check(item)) for i, item in enumerate(value)]
            bad = [(i, message) for i, message in problems if message]
            for i, message in bad:
                errors.add(f"{path}{name}.{i}", message)
            if bad:
                continue
        setattr(target, name, value)


@dataclass
class _Plan:
    """The merged state of a brand's parts and what to write for them."""

    parts: dict[str, BrandPart | None] = field(default_factory=dict)
    save: list[BrandPart] = field(default_factory=list)
    delete: list[BrandPart] = field(default_factory=list)


def _plan_parts(brand: Brand, attributes: dict[str, Any], errors: _Errors) -> _Plan:
    plan = _Plan()
    for spec in PARTS:
        current = getattr(brand, spec.accessor, None) if brand.pk else None
        attrs = attributes.get(spec.key)
        if attrs is None:  # omitted or null: keep what is stored
            plan.parts[spec.accessor] = current
            continue
        given_id = attrs.get("id")
        if given_id is not None and (current is None or given_id != current.id):
            errors.add(f"{spec.key}.id", "does not match this brand's record")
        if attrs.get("destroy"):
            if current is not None:
                plan.delete.append(current)
            plan.parts[spec.accessor] = None
            continue
        part = current if current is not None else spec.model()
        _assign(part, attrs, spec.rules, f"{spec.key}.", errors)
        plan.parts[spec.accessor] = part
        plan.save.append(part)
    return plan


def _check_merged(brand: Brand, plan: _Plan, errors: _Errors) -> None:
    """Rules that span fields: only meaningful once the request is merged with the row."""
    pseudonymize = brand.pseudonymization_duration_of_sent_messages_in_days
    storage = brand.storage_duration_of_sent_messages_in_days
    if isinstance(pseudonymize, int) and isinstance(storage, int) and pseudonymize > storage:
        errors.add(
            "pseudonymization_duration_of_sent_messages_in_days",
            f"must not exceed storage_duration_of_sent_messages_in_days ({storage})",
        )
    provider = brand.mail_provider
    if provider not in REQUIRED_CREDENTIALS:
        return
    key, required = REQUIRED_CREDENTIALS[provider]
    part = plan.parts[PARTS_BY_KEY[key].accessor]
    message = f"is required when mail_provider is '{provider}'"
    if part is None:
        errors.add(key, message)
        return
    for name in required:
        if not getattr(part, name):
            errors.add(f"{key}.{name}", message)


def _write(tenant: Tenant, brand: Brand, plan: _Plan) -> Brand:
    taken = Brand.objects.for_tenant(tenant).filter(slug=brand.slug).exclude(pk=brand.pk)
    if taken.exists():
        raise Conflict(f"Brand slug '{brand.slug}' is already taken")
    try:
        with savepoint():
            brand.save()
    except IntegrityError:  # a concurrent create/rename won the race for the slug
        raise Conflict(f"Brand slug '{brand.slug}' is already taken") from None
    for part in plan.delete:
        part.delete()
    for part in plan.save:
        part.tenant = tenant
        part.brand = brand
        part.save()
    return selectors.get_brand(tenant, brand.id)


@transaction.atomic
def create_brand(*, tenant: Tenant, attributes: dict[str, Any]) -> Brand:
    """Create a brand and the parts given as ``*_attributes``; ``name``/``slug`` required."""
    errors = _Errors()
    for required in ("name", "slug"):
        if required not in attributes:  # null is reported by _assign as "must not be null"
            errors.add(required, "is required")
    brand = Brand(tenant=tenant)
    _assign(brand, attributes, BRAND_RULES, "", errors)
    plan = _plan_parts(brand, attributes, errors)
    _check_merged(brand, plan, errors)
    errors.raise_if_any()
    return _write(tenant, brand, plan)


@transaction.atomic
def update_brand(*, tenant: Tenant, brand_id: int, attributes: dict[str, Any]) -> Brand:
    """Merge ``attributes`` into the brand (see module docstring for the rules).

    The brand row is locked first so two concurrent first-time nested creates cannot race
    into the one-to-one constraint.
    """
    brand = (
        selectors.brands(tenant).select_for_update(of=("self",)).filter(id=brand_id).first()
    )
    if brand is None:
        raise NotFound("Brand not found")
    errors = _Errors()
    _assign(brand, attributes, BRAND_RULES, "", errors)
    plan = _plan_parts(brand, attributes, errors)
    _check_merged(brand, plan, errors)
    errors.raise_if_any()
    return _write(tenant, brand, plan)


def _describe_users(objects: set[Model]) -> str:
    names = sorted(
        f"{obj._meta.verbose_name} '{str(obj)[:60]}' (id {obj.pk})" for obj in objects
    )
    shown = ", ".join(names[:10])
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return f"Brand is still used by: {shown}{more}. Reassign or delete them first."


@transaction.atomic
def delete_brand(*, tenant: Tenant, brand_id: int) -> Brand:
    """Delete the brand and its parts; 409 naming the records that still use it.

    "Users" are whatever other apps point at a brand with ``on_delete=PROTECT`` (or
    RESTRICT): Django's deletion collector finds them, so this function needs no list of
    them. The brand row is locked first, so a concurrent insert referencing it waits and
    cannot slip in between the check and the delete. Returns the deleted brand (id kept)
    for the response.
    """
    brand = (
        selectors.brands(tenant).select_for_update(of=("self",)).filter(id=brand_id).first()
    )
    if brand is None:
        raise NotFound("Brand not found")
    try:
        with savepoint():
            brand.delete()
    except ProtectedError as exc:
        raise Conflict(_describe_users(exc.protected_objects)) from None
    except RestrictedError as exc:
        raise Conflict(_describe_users(exc.restricted_objects)) from None
    brand.id = brand_id
    return brand
