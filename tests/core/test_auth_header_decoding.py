"""The Authorization header decoder is total: whatever a caller sends, the answer is a 401
with the usual envelope, never a 500 — proved on examples and as a property, through the
real public endpoint."""

from __future__ import annotations

import base64

import pytest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from doxie.core.auth import parse_basic

PUBLIC = "/api/v1/acme/whoami"
ADMIN = "/api/v1/acme/admin/tenant"
ENVELOPE = {"success", "error_message", "process_uuid", "data"}


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.fixture
def no_throttle(settings):
    # Thousands of failures in one test: the decoder, not the throttle, is under test here.
    settings.DOXIE_AUTH_FAILURE_LIMIT = 10**9
    settings.DOXIE_AUTH_IP_FAILURE_LIMIT = 10**9


def _assert_401(response) -> None:
    assert response.status_code == 401, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == ENVELOPE and body["success"] is False


EXAMPLES = {
    "nul in username": "Basic " + b64(b"api\x00client:pw"),
    "nul only": "Basic " + b64(b"\x00:\x00"),
    "lone surrogate in header": "Basic \udc80\udcff",
    "non-ascii header": "Basic " + "é" * 12,
    "invalid base64": "Basic !!!notbase64",
    "truncated base64": "Basic YWJj=",
    "non-utf8": "Basic " + b64(b"\xff\xfe:\xc3\x28"),
    "missing colon": "Basic " + b64(b"just-a-username"),
    "empty username": "Basic " + b64(b":password"),
    "control chars": "Basic " + b64(b"api\x1b[31m:pw"),
    "huge header": "Basic " + b64(b"u:" + b"p" * 200_000),
    "huge username": "Basic " + b64(b"u" * 5000 + b":p"),
    "scheme only": "Basic",
    "other scheme": "Digest abc",
}


@pytest.mark.django_db
@pytest.mark.parametrize("header", EXAMPLES.values(), ids=EXAMPLES.keys())
def test_malformed_basic_headers_are_401(tenant, no_throttle, header):
    _assert_401(Client().get(PUBLIC, headers={"Authorization": header}))
    assert parse_basic(header) is None


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["\udc80", "abc\x00def", "é" * 10, "x" * 100_000])
def test_malformed_bearer_tokens_are_401(tenant, token):
    response = Client().get(ADMIN, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.json()["success"] is False  # admin envelope


@pytest.mark.django_db
def test_nul_in_the_tenant_slug_with_basic_is_not_a_500(tenant, no_throttle):
    response = Client().get("/api/v1/ac%00me/whoami",
                            headers={"Authorization": "Basic " + b64(b"api-client:pw")})
    assert response.status_code < 500


header_values = st.one_of(
    st.text(),  # anything at all, lone surrogates and NUL included
    st.binary().map(lambda raw: raw.decode("latin-1")),  # raw header bytes as WSGI sees them
    st.binary().map(b64),
    st.text().map(lambda t: b64(t.encode("utf-8", "surrogatepass"))),
    st.tuples(st.text(), st.text()).map(
        lambda up: b64(f"{up[0]}:{up[1]}".encode("utf-8", "surrogatepass"))
    ),
)


@pytest.mark.django_db
@hsettings(max_examples=300, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scheme=st.sampled_from(["Basic ", "basic ", "BASIC  ", "Basic", ""]), value=header_values)
def test_any_basic_header_is_a_401_with_the_envelope(tenant, no_throttle, scheme, value):
    header = scheme + value
    _assert_401(Client().get(PUBLIC, headers={"Authorization": header}))
