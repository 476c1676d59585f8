"""P4 and the journey statistics: success, validation, re-entry, auth, isolation."""

from __future__ import annotations

import pytest

from doxie.journeys.models import JourneyRun
from doxie.processes.models import Event, Process
from tests.helpers import ApiClient
from tests.journeys.conftest import inject, make_injector, publish
from tests.messaging.conftest import make_brand

pytestmark = pytest.mark.django_db

JOURNEY = {"key": "{{ email }}", "steps": [{"send": "welcome"}, {"wait": "1d"},
                                           {"send": "tips"}]}


@pytest.fixture
def setup(tenant):
    brand = make_brand(tenant)
    return make_injector(tenant, brand, JOURNEY)


def test_injection_answers_the_seed_and_creates_process_and_due_run(setup, api_caller):
    response = inject(ApiClient(), api_caller, {"email": "max@example.org", "plan": "pro"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"success", "error_message", "process_uuid", "data"}
    assert body["success"] is True and body["error_message"] is None and body["data"] is None
    process = Process.objects.get(uuid=body["process_uuid"])
    assert process.kind == "injector" and process.status == "active"
    run = JourneyRun.objects.get(process=process)
    assert run.state == "active" and run.pc == 0 and run.wake_at is not None
    assert "max@example.org" not in run.contact_key  # a hash


def test_validation_errors(setup, tenant, api_caller):
    api = ApiClient()
    missing = inject(api, api_caller, {"plan": "pro"})
    assert missing.status_code == 422
    assert missing.json()["details"][0]["field"] == "email"
    assert inject(api, api_caller, slug="nope").status_code == 404
    Event.objects.create(tenant=tenant, brand=setup.brand, slug="mailer-one")
    wrong = inject(api, api_caller, slug="mailer-one")
    assert wrong.status_code == 422 and "injector" in wrong.json()["error_message"]
    assert inject(api, api_caller, body=[1, 2]).status_code == 422
    assert Process.objects.count() == 0


def test_event_without_journey_is_422(tenant, api_caller):
    brand = make_brand(tenant)
    Event.objects.create(tenant=tenant, brand=brand, slug="bare", kind="injector")
    assert inject(ApiClient(), api_caller, slug="bare").status_code == 422


def test_reentry_once_and_cooldown_are_409_naming_the_rule(setup, tenant, api_caller):
    api = ApiClient()
    publish(tenant, setup, {**JOURNEY, "reentry": "once"})
    assert inject(api, api_caller).status_code == 200
    again = inject(api, api_caller, {"email": "MAX@example.org"})
    assert again.status_code == 409 and "'once'" in again.json()["error_message"]
    assert inject(api, api_caller, {"email": "other@example.org"}).status_code == 200
    publish(tenant, setup, {**JOURNEY, "reentry": {"cooldown": "7d"}})
    cooled = inject(api, api_caller)
    assert cooled.status_code == 409 and "cooldown: 7d" in cooled.json()["error_message"]
    JourneyRun.objects.update(created_at="2020-01-01T00:00:00Z")
    assert inject(api, api_caller).status_code == 200
    assert JourneyRun.objects.count() == 3


def test_reentry_always_admits_the_same_contact_again(setup, api_caller):
    api = ApiClient()
    assert inject(api, api_caller).status_code == 200
    assert inject(api, api_caller).status_code == 200


def test_auth_and_isolation(setup, api_caller, other_api_caller, admin):
    api = ApiClient()
    assert inject(api, None).status_code == 401
    assert inject(api, admin).status_code in (401, 403)
    # another tenant's caller on this tenant's path, and on its own path: neither sees it
    assert inject(api, other_api_caller).status_code in (401, 403, 404)
    response = api.post("/api/v1/other/injector/onboarding", {"email": "a@example.org"},
                        caller=other_api_caller)
    assert response.status_code == 404, response.content
    assert Process.objects.count() == 0


def test_stats_show_version_tree_and_counts(setup, api_caller, admin, reader):
    api = ApiClient()
    inject(api, api_caller)
    inject(api, api_caller)
    response = api.get("/api/v1/acme/admin/journeys/onboarding", caller=reader)
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["version"] == 1
    assert data["runs"] == {"active": 2, "finished": 0, "exited": 0, "cancelled": 0}
    assert data["waiting"] == {"due": 2}
    assert [s["kind"] for s in data["steps"]] == ["send", "wait", "send"]


def test_stats_auth_and_isolation(setup, api_caller, other_admin, admin, tenant):
    api = ApiClient()
    assert api.get("/api/v1/acme/admin/journeys/onboarding").status_code == 401
    assert api.get("/api/v1/acme/admin/journeys/onboarding",
                   caller=api_caller).status_code in (401, 403)
    assert api.get("/api/v1/other/admin/journeys/onboarding",
                   caller=other_admin).status_code == 404
    Event.objects.create(tenant=tenant, brand=setup.brand, slug="mailer-one")
    assert api.get("/api/v1/acme/admin/journeys/mailer-one", caller=admin).status_code == 404
