"""The property behind issue 10 §5: no input produces a 5xx, on any route.

The routes are not listed by hand: every URL pattern the project serves is enumerated from
Django's resolver (public and admin API, OAuth2, provider hooks, public pages, the Django
admin, health), so a route added later is covered without touching this file. Each is
called with valid credentials for its area (HTTP Basic API user, OAuth2 bearer member, a
logged-in superuser for the admin UI) and hostile parts: path segments, query strings and
JSON/form bodies carrying NUL, lone surrogates (sent as ``%ED%A0%80``), Unicode digits,
NaN/Infinity, huge numbers and deep nesting.

Two tests: a deterministic sweep that sends every hostile value class to every route, and
a hypothesis search that combines them freely. Both bounded to stay well inside CI time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import PASSWORD, basic_caller, make_admin_caller, make_tenant
from tests.inbound.support import make_brand


def _encode(text: str) -> str:
    """Percent-encode UTF-8 bytes; a lone surrogate becomes ``%ED%A0%80`` on the wire."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


HOSTILE_TEXT = [
    "\x00", "a\x00b", "\ud800", "x\udfff", "\u00b9", "\u2460", "\u0661\u0662", "1_2", " 12",
    "9" * 30, "-1", "0", "NaN", "Infinity", "1e999", "x" * 300, "../..", "%", "\ufffd",
    "\u202e", "<script>",
]
HOSTILE_JSON = [
    b'{"a": NaN}', b"[Infinity]", b'{"a": -Infinity}', b'{"a": 1e999}',
    b'{"a": 123456789012345678901234567890}', b'{"a": "\\u0000"}', b'{"\\u0000": 1}',
    b'{"a": "\\ud800"}', b'["\\udfff"]', b"[" * 100_000, b'{"a":' * 10_000, b"\xed\xa0\x80",
    b'{"a": "\xff"}', b"{", b"null", b"[]", b"1", b'""',
]
HOSTILE_FORM = [
    b"client_id=%00&grant_type=client_credentials", b"client_id=%ED%A0%80",
    b"username=a%00&password=b", b"q=%FF%FE", b"csrfmiddlewaretoken=\xff", b"a=%E2%91%A0",
]


@dataclass(frozen=True)
class Route:
    template: str  # "/api/v1/{tenant}/admin/brands/{id}"
    params: tuple[str, ...]
    area: str  # admin_api | public_api | admin_ui | other


_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


def _regex_route(regex: str) -> str:
    """A fixed string for a regex pattern (``^static/(?P<path>.*)$``, ``…/?$``)."""
    text = regex.lstrip("^").rstrip("$").replace("/?", "/").replace("\\.", ".")
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", text)


def _walk(resolver: URLResolver, prefix: str = ""):
    for pattern in resolver.url_patterns:
        route = str(pattern.pattern)
        if route.startswith("^"):
            route = _regex_route(route)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern, prefix + route)
        elif isinstance(pattern, URLPattern):
            yield prefix + route


def all_routes() -> list[Route]:
    routes = set()
    for raw in _walk(get_resolver()):
        if raw.startswith("static/"):
            continue  # files from the installed apps, not input handling
        if raw == "readyz":
            continue  # 503 without a worker heartbeat is its answer (a dependency), not a fault
        names = tuple(m.group("name") for m in _PARAM.finditer(raw))
        template = "/" + _PARAM.sub(lambda m: "{" + m.group("name") + "}", raw)
        if template.startswith("/api/v1/"):
            area = "admin_api" if "/admin/" in template else "public_api"
        elif template.startswith("/admin/"):
            area = "admin_ui"
        else:
            area = "other"
        routes.add(Route(template, names, area))
    return sorted(routes, key=lambda r: r.template)


ROUTES = all_routes()


@pytest.fixture
def world(db):
    """A tenant with every kind of caller, a brand (for hook tokens) and real ids."""
    from doxie.tenants import services

    tenant = make_tenant("acme")
    services.create_api_user(tenant=tenant, username="prop-api", password=PASSWORD,
                             password_confirmation=PASSWORD)
    brand = make_brand(tenant)
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456789")
    client = Client(raise_request_exception=False)
    client.force_login(user)
    valid = {
        "tenant": "acme", "token": brand.inbound_token, "id": str(brand.pk),
        "brand_id": str(brand.pk), "object_id": str(tenant.pk), "content_type_id": "1",
    }
    headers = {
        "admin_api": make_admin_caller(tenant).headers,
        "public_api": basic_caller("prop-api", PASSWORD).headers,
        "admin_ui": {},
        "other": {},
    }
    client.login_again = lambda: client.force_login(user)
    return client, valid, headers


def call(world, route: Route, method: str, segments: dict[str, str], query: str = "",
         body: bytes | None = None, content_type: str = "application/json"):
    client, valid, headers = world
    path = route.template
    for name in route.params:
        path = path.replace("{" + name + "}", segments.get(name, valid.get(name, "1")), 1)
    url = f"{path}?{query}" if query else path
    kwargs = {"headers": headers[route.area]}
    if body is not None:
        kwargs.update(data=body, content_type=content_type)
    response = getattr(client, method)(url, **kwargs)
    if "logout" in path:
        client.login_again()
    assert response.status_code < 500, (
        f"{method.upper()} {url!r} body={body[:80] if body else None!r} -> "
        f"{response.status_code}: {response.content[:300]!r}")
    return response


def test_every_area_is_enumerated():
    templates = {r.template for r in ROUTES}
    for expected in ("/api/v1/{tenant}/whoami", "/api/v1/{tenant}/admin/brands/{id}",
                     "/oauth/token/", "/oauth/authorize/", "/hooks/mailjet/{token}",
                     "/doi/{token}", "/d/{token}", "/l/{token}", "/admin/",
                     "/admin/tenants/tenant/{object_id}/change/", "/healthz"):
        assert expected in templates, expected
    assert len(ROUTES) > 100


def _sweep_inputs(route: Route):
    """(method, segments, query, body, content type) for one route. Every route gets every
    class; the Django admin's ~150 routes share their views, so they get fewer of each."""
    admin = route.area == "admin_ui"
    segments = ([_encode(t) for t in ("\x00", "\u0661\u0662", "x" * 300)] if admin else
                [_encode(t) for t in ("\x00", "\ud800", "\u00b9", "\u2460", "\u0661\u0662",
                                      "1_2", "9" * 30, "x" * 300)])
    for i, segment in enumerate(segments if route.params else []):
        yield ("post" if i % 2 else "get"), dict.fromkeys(route.params, segment), "", None, ""
    changelist = admin and not route.params and route.template.count("/") == 4
    texts = ("\x00", "\ud800", "\u0661") if not admin or changelist else ("\x00",)
    for t in texts:
        yield "get", {}, f"q={_encode(t)}&limit={_encode(t)}&page={_encode(t)}", None, ""
    form, js = "application/x-www-form-urlencoded", "application/json"
    if admin:
        bodies = [(HOSTILE_FORM[0], form), (HOSTILE_FORM[3], form)]
    elif route.area == "other":
        bodies = [(b, form) for b in HOSTILE_FORM] + [(b, js) for b in HOSTILE_JSON[:: 4]]
    else:
        bodies = [(b, js) for b in HOSTILE_JSON[:13]]
    for body, kind in bodies:
        yield "post", {}, "", body, kind


def test_sweep_every_route_with_every_hostile_class(world):
    """Deterministic floor of the property: each route sees each class of hostile value
    in its path, its query string and its body."""
    for route in ROUTES:
        for method, segments, query, body, kind in _sweep_inputs(route):
            call(world, route, method, segments, query, body, kind or "application/json")


# -- free combination ----------------------------------------------------------------------

text = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=12))
json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), text,
)
json_value = st.recursive(json_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)), max_leaves=8)


def _dump(value) -> bytes:
    # allow_nan keeps NaN/Infinity literals; surrogatepass keeps lone surrogates as raw bytes.
    return json.dumps(value, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")


bodies = st.one_of(
    json_value.map(_dump),
    st.sampled_from(HOSTILE_JSON),
    st.sampled_from(HOSTILE_FORM),
    st.integers(min_value=65, max_value=50_000).map(lambda n: b"[" * n + b"]" * n),
)
queries = st.lists(st.tuples(text, text), max_size=3).map(
    lambda pairs: "&".join(f"{_encode(k)}={_encode(v)}" for k, v in pairs))


@settings(max_examples=250, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_input_on_any_route_is_a_5xx(world, data):
    route = data.draw(st.sampled_from(ROUTES), label="route")
    segments = {name: data.draw(st.one_of(st.just(None), text.map(_encode)), label=name)
                for name in route.params}
    segments = {k: v for k, v in segments.items() if v}
    method = data.draw(st.sampled_from(["get", "post", "put", "patch", "delete"]), label="m")
    body = data.draw(st.one_of(st.none(), bodies), label="body") if method != "get" else None
    kind = "application/x-www-form-urlencoded" if body in HOSTILE_FORM else "application/json"
    call(world, route, method, segments, data.draw(queries, label="query"), body, kind)
