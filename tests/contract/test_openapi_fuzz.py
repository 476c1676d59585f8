"""Property-based contract test over the served OpenAPI document (schemathesis).

Every documented operation is called with generated input, authenticated as a real API user
or OAuth2 member of the tenant: no response may be a 5xx, and every response must match the
documented status codes, content type and schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis import checks

from tests.helpers import PASSWORD, basic_caller, make_admin_caller

# Business rules beyond the schema (password policy, E.164 numbers…) legitimately answer 422
# to schema-valid input, so "positive data acceptance" is not among the checks.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
# NUL bytes in every generated string, and any Unicode the UTF-8 codec can carry (lone
# surrogates cannot travel in UTF-8: tests/core/test_input_property.py sends those raw).
schema.config.generation.update(allow_x00=True, codec="utf-8")

CHECKS_SETTINGS = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def in_process_requests():
    """Like Django's test client: keep the test's connection (and transaction) per request."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def credentials(db, in_process_requests):
    from doxie.tenants import services

    tenant = services.create_tenant(slug="acme")
    services.create_api_user(tenant=tenant, username="fuzz-api", password=PASSWORD,
                             password_confirmation=PASSWORD)
    return {
        "admin": make_admin_caller(tenant).headers,
        "public": basic_caller("fuzz-api", PASSWORD).headers,
    }


@schema.parametrize()
@CHECKS_SETTINGS
def test_api_contract(case, credentials):
    if "tenant" in (case.path_parameters or {}):
        case.path_parameters["tenant"] = "acme"
    is_admin = "/admin/" in case.path
    headers = dict(case.headers or {})
    headers.update(credentials["admin" if is_admin else "public"])
    headers.pop("Accept", None)
    case.call_and_validate(headers=headers, checks=CHECKS)
