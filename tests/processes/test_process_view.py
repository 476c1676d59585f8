"""The process view (GET /admin/processes/{uuid}) for mailer processes: what it answers,
its bounded query count, auth, permission and tenant isolation."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from doxie.messaging.models import Message
from tests.messaging.conftest import (
    drain,
    mailer,
    make_brand,
    make_event,
    smtp_server,  # noqa: F401 - the fixture
)

pytestmark = pytest.mark.django_db

VIEW = "/api/v1/{tenant}/admin/processes/{uuid}"


@pytest.fixture
def brand(tenant, smtp_server):  # noqa: F811
    return make_brand(tenant, smtp=smtp_server)


def _sent(api, api_caller, tenant, brand, *, recipients: int = 1, sms: int = 1) -> str:
    make_event(tenant, brand, sms=sms)
    emails = ",".join(f"max{i}@example.org" for i in range(recipients))
    response = mailer(api, api_caller, body={"email": emails, "first_name": "Max",
                                             "phone": "+491771234567"})
    assert response.status_code == 200, response.content
    return response.json()["process_uuid"]


def test_mailer_process_with_messages_and_history(api, api_caller, admin, tenant, brand):
    process_uuid = _sent(api, api_caller, tenant, brand)
    drain(brand)

    response = api.get(VIEW.format(tenant="acme", uuid=process_uuid), caller=admin)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"success", "message", "error", "data"} and body["success"] is True
    data = body["data"]
    assert data["uuid"] == process_uuid and data["kind"] == "mailer"
    assert data["event_slug"] == "welcome_email" and data["status"] == "finished"
    assert data["created_at"].endswith("Z") and data["cancelled_at"] is None
    assert set(data["details"]) == {"messages"}  # no consents describer for mailer processes
    email, sms = data["details"]["messages"]
    assert (email["channel"], sms["channel"]) == ("email", "sms")
    assert email["message_id"] == Message.objects.get(channel="email").id
    assert email["recipient"] == "m***@example.org"
    assert sms["recipient"] == "+49*******567"
    assert "max0@example.org" not in response.content.decode()
    assert email["status"] == "sent" and email["template_name"]
    assert [h["status"] for h in email["status_history"]] == ["queued", "sent"]
    assert all(h["occurred_at"].endswith("Z") for h in email["status_history"])


def test_cancelled_process_shows_the_cancellation(api, api_caller, admin, tenant, brand):
    process_uuid = _sent(api, api_caller, tenant, brand, sms=0)
    cancel = api.post(f"/api/v1/acme/processes/{process_uuid}/cancel", caller=api_caller)
    assert cancel.status_code == 200

    data = api.get(VIEW.format(tenant="acme", uuid=process_uuid), caller=admin).json()["data"]

    assert data["status"] == "cancelled" and data["cancelled_at"].endswith("Z")
    [message] = data["details"]["messages"]
    assert message["status"] == "cancelled"
    assert [(h["status"], h["reason"]) for h in message["status_history"]] == [
        ("queued", None), ("cancelled", "process cancelled")]


def _view_queries(api, admin, process_uuid: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(VIEW.format(tenant="acme", uuid=process_uuid), caller=admin)
    assert response.status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_messages(api, api_caller, admin, tenant, brand):
    small = _sent(api, api_caller, tenant, brand, recipients=1)
    make_event(tenant, brand, slug="many", sms=1)
    emails = ",".join(f"max{i}@example.org" for i in range(30))
    large = mailer(api, api_caller, event_slug="many",
                   body={"email": emails, "first_name": "M", "phone": "+491771234567"},
                   ).json()["process_uuid"]
    drain(brand)
    assert Message.objects.filter(process__uuid=large).count() == 31

    few, many = _view_queries(api, admin, small), _view_queries(api, admin, large)

    assert few == many
    assert many <= 8  # auth (token, membership) + process + messages + status history


def test_unknown_malformed_and_other_tenants_process_are_404(
    api, api_caller, admin, other_admin, tenant, brand,
):
    process_uuid = _sent(api, api_caller, tenant, brand)
    for raw in (str(uuid.uuid4()), "not-a-uuid"):
        response = api.get(VIEW.format(tenant="acme", uuid=raw), caller=admin)
        assert response.status_code == 404 and response.json()["success"] is False
    assert api.get(VIEW.format(tenant="other", uuid=process_uuid),
                   caller=other_admin).status_code == 404
    assert api.get(VIEW.format(tenant="acme", uuid=process_uuid),
                   caller=other_admin).status_code in (403, 404)


def test_auth_and_read_permission(api, api_caller, writer_without_read, tenant, brand):
    process_uuid = _sent(api, api_caller, tenant, brand)
    path = VIEW.format(tenant="acme", uuid=process_uuid)
    assert api.get(path).status_code == 401
    assert api.get(path, caller=api_caller).status_code == 401  # public credentials
    response = api.get(path, caller=writer_without_read)
    assert response.status_code == 403 and response.json()["error"] == "No read permission"


def test_in_the_served_openapi_with_an_example(api):
    document = api.get("/api/openapi.json").json()
    operation = document["paths"]["/api/v1/{tenant}/admin/processes/{process_uuid}"]["get"]
    assert operation["security"] and "200" in operation["responses"]
    schema = document["components"]["schemas"]["ProcessViewOut"]
    assert schema["example"]["details"]["messages"][0]["status_history"]
