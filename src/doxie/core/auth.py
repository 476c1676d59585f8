"""Who is calling, for which tenant, with what rights.

Two schemes, each a django-ninja auth class so the OpenAPI document names them:

* ``ApiUserAuth`` — HTTP Basic with an API user of the tenant in the path (public API).
  Unknown tenant and wrong credentials look the same (401) so the answer never tells an
  unauthenticated caller whether a tenant exists. Failures are throttled with exponential
  back-off per (username, client IP) and per IP (``core.ratelimit.login_*``); a correct
  password from an address that has not been guessing always gets through.
* ``AdminAuth(*perms)`` — OAuth2 bearer tokens from our own server. The token's scope AND the
  user's membership must both grant every permission the operation needs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.http import HttpRequest
from ninja.security.http import HttpAuthBase

from doxie.core import ratelimit
from doxie.core.errors import Forbidden, NotFound, RateLimited, Unauthorized
from doxie.core.net import client_ip
from doxie.tenants.models import ApiUser, Membership, Tenant

# A burnt hash so unknown usernames cost the same time as wrong passwords.
_DUMMY_HASH = make_password("doxie-timing-equaliser")
# Successful verifications are remembered briefly: argon2 is deliberately slow, and an
# integration calling us hundreds of times a second must not pay it on every request. The
# key binds the stored hash, so a password change or deletion invalidates it at once.
_VERIFIED: dict[bytes, float] = {}
_VERIFIED_TTL = 60.0
_VERIFIED_MAX = 10_000


@dataclass
class ApiPrincipal:
    tenant: Tenant
    api_user: ApiUser


@dataclass
class AdminPrincipal:
    tenant: Tenant
    user: Any
    can_read: bool
    can_write: bool
    scopes: frozenset[str]


def _tenant_slug(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    slug = (match.kwargs.get("tenant") if match else None) or ""
    return slug


def _cache_key(api_user: ApiUser, password: str) -> bytes:
    material = f"{api_user.pk}:{api_user.password_hash}:{password}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), material, hashlib.sha256).digest()


def verify_api_user_password(api_user: ApiUser | None, password: str) -> bool:
    if api_user is None:
        check_password(password, _DUMMY_HASH)
        return False
    key = _cache_key(api_user, password)
    now = time.monotonic()
    expires = _VERIFIED.get(key)
    if expires is not None and expires > now:
        return True
    if not check_password(password, api_user.password_hash):
        return False
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[key] = now + _VERIFIED_TTL
    return True


# Longer headers are refused unread: no credential we issue comes close.
MAX_BASIC_HEADER = 1024
_USERNAME_MAX = 150  # ApiUser.username's column


def parse_basic(header: str) -> tuple[str, str] | None:
    """``(username, password)`` from an ``Authorization: Basic`` header, or None.

    Total: any string — oversized, non-ASCII, lone surrogates, bad base64, non-UTF-8, no
    colon, NUL or other control characters in the username — yields None, never raises, so
    the caller answers 401. A username PostgreSQL could not even compare (NUL) never
    reaches a query.
    """
    if not isinstance(header, str) or len(header) > MAX_BASIC_HEADER:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "basic" or not value or not value.isascii():
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are both ValueErrors
        return None
    username, sep, password = decoded.partition(":")
    if not sep or not username or len(username) > _USERNAME_MAX:
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in username):
        return None
    return username, password


class ApiUserAuth(HttpAuthBase):
    """HTTP Basic with an API user of the path's tenant."""

    openapi_scheme = "basic"

    def __call__(self, request: HttpRequest) -> ApiPrincipal:
        credentials = parse_basic(request.headers.get("Authorization", ""))
        if credentials is None:
            raise Unauthorized("Authentication required: HTTP Basic with an API user")
        username, password = credentials
        slug = _tenant_slug(request)
        realm, ip = f"api:{slug}", client_ip(request)
        wait = ratelimit.login_wait(realm, username, ip)
        if wait:
            raise RateLimited(wait, "Too many failed sign-in attempts; try again later")
        api_user = None
        if "\x00" not in slug:
            api_user = (
                ApiUser.objects.select_related("tenant")
                .filter(tenant__slug=slug, username=username)
                .first()
            )
        if not verify_api_user_password(api_user, password):
            ratelimit.login_failed(realm, username, ip)
            raise Unauthorized("Invalid API credentials")
        assert api_user is not None
        principal = ApiPrincipal(tenant=api_user.tenant, api_user=api_user)
        request.principal = principal  # type: ignore[attr-defined]
        return principal


def _load_access_token(raw: str):
    from oauth2_provider.models import get_access_token_model

    if len(raw) > 4096 or not raw.isascii():  # no token we issue looks like that
        return None
    checksum = hashlib.sha256(raw.encode("ascii")).hexdigest()
    return (
        get_access_token_model()
        .objects.select_related("user", "application__user")
        .filter(token_checksum=checksum)
        .first()
    )


class AdminAuth(HttpAuthBase):
    """OAuth2 bearer token; ``AdminAuth("read", "write")`` needs both permissions."""

    openapi_scheme = "bearer"
    openapi_bearerFormat = "OAuth2 access token from /oauth/token"

    def __init__(self, *permissions: str) -> None:
        self.permissions = permissions
        super().__init__()

    def __call__(self, request: HttpRequest) -> AdminPrincipal:
        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise Unauthorized("Authentication required: OAuth2 bearer token", scheme="Bearer")
        token = _load_access_token(raw.strip())
        if token is None or token.is_expired():
            raise Unauthorized("Invalid or expired access token", scheme="Bearer")
        user = token.user or (token.application.user if token.application else None)
        if user is None or not user.is_active:
            raise Unauthorized("Invalid or expired access token", scheme="Bearer")
        membership = (
            Membership.objects.select_related("tenant")
            .filter(tenant__slug=_tenant_slug(request), user=user)
            .first()
        )
        if membership is None:
            # Unknown tenant and "not yours" are the same answer: nothing to see here.
            raise NotFound("Tenant not found")
        scopes = frozenset(token.scope.split())
        principal = AdminPrincipal(
            tenant=membership.tenant,
            user=user,
            can_read=membership.can_read and "read" in scopes,
            can_write=membership.can_write and "write" in scopes,
            scopes=scopes,
        )
        if "read" in self.permissions and not principal.can_read:
            raise Forbidden("No read permission")
        if "write" in self.permissions and not principal.can_write:
            raise Forbidden("No write permission")
        request.principal = principal  # type: ignore[attr-defined]
        return principal


API_USER = ApiUserAuth()
ADMIN_READ = AdminAuth("read")
ADMIN_WRITE = AdminAuth("write")
ADMIN_READ_WRITE = AdminAuth("read", "write")

__all__ = [
    "ADMIN_READ",
    "ADMIN_READ_WRITE",
    "ADMIN_WRITE",
    "API_USER",
    "AdminPrincipal",
    "ApiPrincipal",
]
