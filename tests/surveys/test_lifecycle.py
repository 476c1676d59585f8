"""Reminders (one, idempotent, not for finished/cancelled), retention, the process view and
P7 on an answered survey."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from doxie.core.errors import Conflict
from doxie.messaging.models import Message
from doxie.messaging.secret_links import unseal
from doxie.processes.services import cancel_process
from doxie.surveys import definition as d
from doxie.surveys import selectors, services
from doxie.surveys.models import AnswerCount, Inquiry, SurveyResponse

pytestmark = pytest.mark.django_db


def _invite(tenant, email="a@example.com"):
    return services.invite(tenant=tenant, event_slug="feedback",
                           payload={"email": email, "first_name": "A"})


def test_one_reminder_with_a_second_working_link(tenant, survey):
    due, finished, cancelled = (_invite(tenant, f"{n}@example.com") for n in ("a", "b", "c"))
    services._finish(finished.inquiry, d.load(survey.definition), {"nps": 5})
    cancel_process(tenant=tenant, process_uuid=str(cancelled.process.uuid))
    later = timezone.now() + timedelta(days=3, minutes=1)

    assert services.send_due_reminders(now=timezone.now()) == 0  # not due yet
    assert services.send_due_reminders(now=later) == 1
    assert services.send_due_reminders(now=later) == 0  # one reminder only

    inquiry = Inquiry.objects.get(pk=due.inquiry.pk)
    assert inquiry.reminded_at is not None and inquiry.reminder_token_hash
    reminder = Message.objects.filter(process=due.process).latest("id")
    assert reminder.id != Message.objects.filter(process=due.process).earliest("id").id
    url = unseal(reminder.secret_values, encrypted=False)["survey_url"]
    assert "{{ survey_url }}" in reminder.html and url not in reminder.html
    token = url.rsplit("/", 1)[1]
    assert selectors.inquiry_for_token(token).pk == inquiry.pk
    assert Message.objects.filter(process=finished.process).count() == 1
    assert Message.objects.filter(process=cancelled.process).count() == 1


def test_retention_pseudonymizes_then_deletes(tenant, survey, brand):
    old, recent = _invite(tenant, "old@example.com"), _invite(tenant, "new@example.com")
    services._finish(old.inquiry, d.load(survey.definition), {"nps": 9})
    Inquiry.objects.filter(pk=old.inquiry.pk).update(
        created_at=timezone.now()
        - timedelta(days=brand.pseudonymization_duration_of_sent_messages_in_days + 1))

    assert services.apply_retention() == {"pseudonymized": 1, "deleted": 0}
    row = Inquiry.objects.get(pk=old.inquiry.pk)
    assert row.email.startswith("pseudonym:") and row.pseudonymized_at is not None
    assert Inquiry.objects.get(pk=recent.inquiry.pk).email == "new@example.com"
    assert services.apply_retention() == {"pseudonymized": 0, "deleted": 0}

    Inquiry.objects.filter(pk=old.inquiry.pk).update(
        created_at=timezone.now()
        - timedelta(days=brand.storage_duration_of_sent_messages_in_days + 1))
    assert services.apply_retention()["deleted"] == 1
    assert not SurveyResponse.objects.exists() and Inquiry.objects.count() == 1
    assert AnswerCount.objects.filter(question="", option="").get().count == 1  # counts stay


def test_process_view_and_cancel_of_an_answered_survey(api, admin, tenant, survey):
    result = _invite(tenant)
    services._finish(result.inquiry, d.load(survey.definition), {"nps": 7})

    with CaptureQueriesContext(connection) as queries:
        described = selectors.describe_process_survey(result.process)
    assert len(queries) == 1
    assert described[0]["state"] == "finished" and described[0]["answers"] == {"nps": 7}
    response = api.get(f"/api/v1/acme/admin/processes/{result.process.uuid}", caller=admin)
    assert response.status_code == 200, response.content
    assert response.json()["data"]["details"]["survey"][0]["answers"] == {"nps": 7}
    with pytest.raises(Conflict):
        cancel_process(tenant=tenant, process_uuid=str(result.process.uuid))
