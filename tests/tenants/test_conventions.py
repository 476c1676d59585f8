"""API.md §Conventions: Accept, content type, body size, malformed JSON, unknown paths."""

from __future__ import annotations

import pytest

ADMIN = "/api/v1/acme/admin/api_users"
PUBLIC = "/api/v1/acme/whoami"


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["", "*/*", "application/json", "text/html, application/json"])
def test_acceptable_accept_headers(api, admin, accept):
    assert api.get(ADMIN, caller=admin, headers={"Accept": accept}).status_code == 200


@pytest.mark.django_db
def test_other_accept_is_406_with_envelope(api, admin, api_caller):
    response = api.get(ADMIN, caller=admin, headers={"Accept": "text/html"})
    assert response.status_code == 406
    assert set(response.json()) == {"success", "message", "error", "data"}
    public = api.get(PUBLIC, caller=api_caller, headers={"Accept": "application/xml"})
    assert public.status_code == 406
    assert set(public.json()) == {"success", "error_message", "process_uuid", "data"}


@pytest.mark.django_db
def test_wrong_content_type_is_415(api, admin):
    response = api.post(ADMIN, raw=b"username=x", caller=admin,
                        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["success"] is False


@pytest.mark.django_db
def test_malformed_json_is_400(api, admin):
    response = api.post(ADMIN, raw=b'{"api_user": ', caller=admin)
    assert response.status_code == 400
    assert response.json()["error"] == "Malformed JSON body"


@pytest.mark.django_db
def test_body_over_limit_is_413(api, admin, settings):
    settings.DOXIE_MAX_JSON_BODY = 100
    response = api.post(ADMIN, {"api_user": {"username": "x" * 200}}, caller=admin)
    assert response.status_code == 413


@pytest.mark.django_db
def test_unknown_api_path_is_json_404(api, admin):
    response = api.get("/api/v1/acme/admin/nothing-here", caller=admin)
    assert response.status_code == 404
    assert response.json()["success"] is False


@pytest.mark.django_db
def test_openapi_lists_operations_and_security(api):
    schema = api.get("/api/openapi.json").json()
    assert "/api/v1/{tenant}/admin/api_users" in schema["paths"]
    assert "/api/v1/{tenant}/admin/tenant" in schema["paths"]
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiUserAuth"]["scheme"] == "basic"
    assert schemes["AdminAuth"]["scheme"] == "bearer"
    create = schema["paths"]["/api/v1/{tenant}/admin/api_users"]["post"]
    assert {"201", "401", "403", "409", "422"} <= set(create["responses"])
    docs = api.get("/api/docs")
    assert docs.status_code == 200 and b"openapi.json" in docs.content
