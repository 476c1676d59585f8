"""Writes for tenants, memberships, API users and OAuth2 clients; one function per use case."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from doxie.core.db import savepoint
from doxie.core.errors import Conflict, FieldError, Invalid, NotFound
from doxie.tenants.models import ApiUser, Membership, OAuthClient, Tenant

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-_]{0,62}[a-z0-9])?$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9._@+-]{3,150}$")
PASSWORD_MIN_LENGTH = 12


def password_problems(password: str, confirmation: str | None, field: str = "password"):
    """The API-user password policy: ≥ 12 chars with upper, lower, digit and symbol."""
    problems: list[FieldError] = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(FieldError(field, f"must be at least {PASSWORD_MIN_LENGTH} characters"))
    if not re.search(r"[a-z]", password):
        problems.append(FieldError(field, "must contain a lower-case letter"))
    if not re.search(r"[A-Z]", password):
        problems.append(FieldError(field, "must contain an upper-case letter"))
    if not re.search(r"\d", password):
        problems.append(FieldError(field, "must contain a digit"))
    if not re.search(r"[^A-Za-z0-9]", password):
        problems.append(FieldError(field, "must contain a symbol"))
    if confirmation is not None and confirmation != password:
        problems.append(FieldError(f"{field}_confirmation", "does not match the password"))
    return problems


@transaction.atomic
def create_tenant(*, slug: str, name: str | None = None, time_zone: str = "Europe/Berlin"):
    if not SLUG_RE.match(slug or ""):
        raise Invalid.one("slug", "must be lower-case letters, digits, '-' or '_' (max 64)")
    if Tenant.objects.filter(slug=slug).exists():
        raise Conflict(f"Tenant '{slug}' already exists")
    return Tenant.objects.create(
        slug=slug, name=name or slug, time_zone=time_zone, activated_at=timezone.now()
    )


def get_tenant(slug: str) -> Tenant:
    try:
        return Tenant.objects.get(slug=slug)
    except Tenant.DoesNotExist:
        raise NotFound("Tenant not found") from None


@transaction.atomic
def update_tenant(
    *, tenant: Tenant, webhook_interaction_storage_duration_in_days: int | None = None
) -> Tenant:
    if webhook_interaction_storage_duration_in_days is not None:
        tenant.webhook_interaction_storage_duration_in_days = (
            webhook_interaction_storage_duration_in_days
        )
    tenant.save()
    return tenant


@transaction.atomic
def create_api_user(
    *, tenant: Tenant, username: str, password: str, password_confirmation: str | None
) -> ApiUser:
    problems: list[FieldError] = []
    if not USERNAME_RE.match(username or ""):
        problems.append(
            FieldError("username", "must be 3-150 characters: letters, digits, . _ @ + -")
        )
    problems += password_problems(password, password_confirmation)
    if problems:
        raise Invalid(problems, message="; ".join(f"{p.field} {p.message}" for p in problems))
    if ApiUser.objects.filter(tenant=tenant, username=username).exists():
        raise Conflict(f"Username '{username}' is already taken")
    try:
        with savepoint():
            return ApiUser.objects.create(
                tenant=tenant, username=username, password_hash=make_password(password)
            )
    except IntegrityError:  # a concurrent create won the race
        raise Conflict(f"Username '{username}' is already taken") from None


@transaction.atomic
def delete_api_user(*, tenant: Tenant, api_user_id: int) -> ApiUser:
    api_user = ApiUser.objects.filter(tenant=tenant, id=api_user_id).first()
    if api_user is None:
        raise NotFound("API user not found")
    snapshot = ApiUser(
        id=api_user.id,
        tenant=tenant,
        username=api_user.username,
        created_at=api_user.created_at,
        updated_at=api_user.updated_at,
    )
    api_user.delete()
    return snapshot


@transaction.atomic
def grant_membership(*, tenant: Tenant, user, can_read: bool, can_write: bool) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        tenant=tenant, user=user, defaults={"can_read": can_read, "can_write": can_write}
    )
    return membership


@dataclass
class OAuthClientCredentials:
    client_id: str
    client_secret: str
    username: str


@transaction.atomic
def create_oauth_client(*, tenant: Tenant, scopes: list[str]) -> OAuthClientCredentials:
    """A confidential client-credentials application acting for a new service user.

    The service user's membership carries exactly the permissions the scopes name, so the
    token's scope and the membership agree.
    """
    from oauth2_provider.models import get_application_model

    unknown = sorted(set(scopes) - {"read", "write"})
    if unknown or not scopes:
        raise Invalid.one("scopes", "must be one or both of 'read' and 'write'")
    user_model = get_user_model()
    username = f"svc-{tenant.slug}-{secrets.token_hex(4)}"
    user = user_model.objects.create(username=username, is_active=True)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    grant_membership(
        tenant=tenant, user=user, can_read="read" in scopes, can_write="write" in scopes
    )
    application_model = get_application_model()
    secret = secrets.token_urlsafe(40)
    app = application_model(
        name=f"{tenant.slug} service client",
        user=user,
        client_type=application_model.CLIENT_CONFIDENTIAL,
        authorization_grant_type=application_model.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
        algorithm="",
    )
    app.save()
    # Issued tokens carry exactly these scopes (tenants.oauth.ClientScopes), in a fixed order.
    allowed = " ".join(s for s in ("read", "write") if s in scopes)
    OAuthClient.objects.create(application=app, tenant=tenant, scopes=allowed)
    return OAuthClientCredentials(client_id=app.client_id, client_secret=secret, username=username)


@transaction.atomic
def create_admin(
    *, tenant: Tenant, username: str, email: str, can_read: bool, can_write: bool,
    password: str | None = None,
):
    """A person who logs into the admin UI and may authorize OAuth2 apps for the tenant."""
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise Conflict(f"User '{username}' already exists")
    password = password or secrets.token_urlsafe(18)
    user = user_model.objects.create_user(
        username=username, email=email, password=password, is_staff=True
    )
    user.user_permissions.set(_admin_ui_permissions(can_write=can_write))
    grant_membership(tenant=tenant, user=user, can_read=can_read, can_write=can_write)
    return user, password


DOXIE_APPS = ("tenants", "brands", "webhooks", "processes", "messaging", "consents", "inbound")
# Tenant admins manage their tenant's data, never tenants or memberships themselves.
_RESERVED = {"add_tenant", "delete_tenant", "add_membership", "change_membership",
             "delete_membership"}


def _admin_ui_permissions(*, can_write: bool):
    """Django admin permissions for a tenant admin; row visibility is scoped per tenant."""
    from django.contrib.auth.models import Permission

    permissions = Permission.objects.filter(content_type__app_label__in=DOXIE_APPS)
    if not can_write:
        permissions = permissions.filter(codename__startswith="view_")
    return [p for p in permissions if p.codename not in _RESERVED]
