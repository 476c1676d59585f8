"""HTTP Basic with API users on the public API (throttling: test_login_throttle.py)."""

from __future__ import annotations

import pytest

from tests.helpers import PASSWORD, basic_caller

PUBLIC = "/api/v1/acme/whoami"


@pytest.mark.django_db
def test_valid_credentials(api, api_caller):
    response = api.get(PUBLIC, caller=api_caller)
    assert response.status_code == 200
    assert response.json() == {
        "success": True, "error_message": None, "process_uuid": None,
        "data": {"tenant": "acme", "username": "api-client"},
    }
    # The second call is served from the short-lived verification cache; still correct.
    assert api.get(PUBLIC, caller=api_caller).status_code == 200


@pytest.mark.django_db
def test_missing_and_wrong_credentials_are_401(api, api_caller):
    missing = api.get(PUBLIC)
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Basic")
    assert set(missing.json()) == {"success", "error_message", "process_uuid", "data"}
    assert api.get(PUBLIC, caller=basic_caller("api-client", "wrong")).status_code == 401
    assert api.get(PUBLIC, caller=basic_caller("nobody", PASSWORD)).status_code == 401
    garbage = api.get(PUBLIC, headers={"Authorization": "Basic !!!notbase64"})
    assert garbage.status_code == 401


@pytest.mark.django_db
def test_unknown_tenant_is_401_not_404_for_unauthenticated(api, api_caller):
    # Never reveal whether a tenant exists to someone without credentials for it.
    assert api.get("/api/v1/does-not-exist/whoami").status_code == 401
    assert api.get("/api/v1/does-not-exist/whoami", caller=api_caller).status_code == 401


@pytest.mark.django_db
def test_other_tenants_credentials_are_401(api, other_api_caller, api_caller):
    assert api.get(PUBLIC, caller=other_api_caller).status_code == 401
    assert api.get("/api/v1/other/whoami", caller=api_caller).status_code == 401
    assert api.get("/api/v1/other/whoami", caller=other_api_caller).status_code == 200


@pytest.mark.django_db
def test_bearer_tokens_do_not_open_the_public_api(api, admin):
    assert api.get(PUBLIC, caller=admin).status_code == 401


@pytest.mark.django_db
def test_deleted_api_user_is_rejected_at_once(api, api_caller, tenant):
    from doxie.tenants.models import ApiUser

    assert api.get(PUBLIC, caller=api_caller).status_code == 200
    ApiUser.objects.filter(tenant=tenant).delete()
    assert api.get(PUBLIC, caller=api_caller).status_code == 401
