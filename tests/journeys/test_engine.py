"""The engine end to end: real worker, real waits in seconds, aiosmtpd, tracked-link clicks,
send windows under an injected clock, P7 mid-journey, killed workers, versions in flight."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from doxie.core import clock
from doxie.journeys import engine
from doxie.journeys.models import JourneyRun, JourneySend
from doxie.messaging.models import Message, TrackedLink
from doxie.processes.models import Process
from doxie.webhooks import services as webhooks
from tests.helpers import ApiClient, make_api_caller, make_tenant
from tests.journeys.conftest import inject, make_injector, publish, run_until
from tests.messaging.conftest import make_brand

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clean_jobs")]


def setup(smtp, journey):
    tenant = make_tenant("acme")
    brand = make_brand(tenant, smtp=smtp)
    event = make_injector(tenant, brand, journey)
    return tenant, event, ApiClient(), make_api_caller(tenant)


def subjects(smtp) -> list[str]:
    return [r.message["Subject"] for r in smtp.received]


def run_of(response) -> JourneyRun:
    assert response.status_code == 200, response.content
    return JourneyRun.objects.get(process__uuid=response.json()["process_uuid"])


def test_real_waits_arrive_in_order_and_on_time(smtp_server):
    _, _, api, caller = setup(smtp_server, {"steps": [
        {"send": "welcome"}, {"wait": "2s"}, {"send": "tips"}, {"wait": "1s"},
        {"send": "pro"}, {"exit": "done"}]})
    run = run_of(inject(api, caller))
    assert run_until(lambda: len(smtp_server.received) == 3, timeout=30)
    assert subjects(smtp_server) == ["Welcome", "Tips", "Pro"]
    run.refresh_from_db()
    assert run.state == "exited" and run.exit_reason == "done"
    assert run.process.status == "finished"
    steps = [(h["step"], h["outcome"]) for h in run.history]
    assert steps == [("1", "sent"), ("2", "waited"), ("3", "sent"), ("4", "waited"),
                     ("5", "sent"), ("6", "exit")]
    # no wait ends early (how late: the bench's due->start figures, not a pass/fail timing)
    at = [datetime.fromisoformat(h["at"].replace("Z", "+00:00")) for h in run.history]
    assert at[1] - at[0] >= timedelta(seconds=2) and at[3] - at[2] >= timedelta(seconds=1)


IF_JOURNEY = {"steps": [{"if": "plan == 'pro'", "then": [{"send": "pro"}],
                         "else": [{"send": "tips"}]}]}


def test_if_takes_both_branches(smtp_server):
    _, _, api, caller = setup(smtp_server, IF_JOURNEY)
    pro = run_of(inject(api, caller, {"email": "pro@example.org", "plan": "pro"}))
    free = run_of(inject(api, caller, {"email": "free@example.org"}))
    assert run_until(lambda: len(smtp_server.received) == 2)
    by_rcpt = {r.rcpt_tos[0]: r.message["Subject"] for r in smtp_server.received}
    assert by_rcpt == {"pro@example.org": "Pro", "free@example.org": "Tips"}
    pro.refresh_from_db()
    free.refresh_from_db()
    assert pro.history[0]["outcome"] == "then" and free.history[0]["outcome"] == "else"
    assert pro.state == free.state == "finished"


WAIT_FOR = {"steps": [
    {"send": "welcome"},
    {"wait_for": {"clicked": "welcome", "timeout": "3s"},
     "then": [{"send": "tips"}], "else": [{"exit": "no_click"}]}]}


def test_wait_for_is_woken_by_a_real_click_at_once(smtp_server):
    _, _, api, caller = setup(smtp_server, {**WAIT_FOR, "steps": [
        WAIT_FOR["steps"][0], {**WAIT_FOR["steps"][1],
                               "wait_for": {"clicked": "welcome", "timeout": "1h"}}]})
    run = run_of(inject(api, caller))
    assert run_until(lambda: len(smtp_server.received) == 1)
    run_until(lambda: JourneyRun.objects.get(pk=run.pk).waiting_op == "wait_for", 5)
    [link] = TrackedLink.objects.filter(message__process=run.process)
    clicked = time.monotonic()
    assert Client().get(f"/l/{link.token}").status_code in (301, 302)
    assert run_until(lambda: len(smtp_server.received) == 2, timeout=10)
    del clicked  # woken by the click: the timeout is an hour away
    assert subjects(smtp_server) == ["Welcome", "Tips"]
    run.refresh_from_db()
    assert run.state == "finished"
    assert [h["outcome"] for h in run.history] == ["sent", "clicked", "sent"]


def test_wait_for_timeout_takes_the_else_branch(smtp_server):
    _, _, api, caller = setup(smtp_server, WAIT_FOR)
    run = run_of(inject(api, caller))
    assert run_until(lambda: JourneyRun.objects.get(pk=run.pk).state != "active", 15)
    run.refresh_from_db()
    assert run.state == "exited" and run.exit_reason == "no_click"
    assert [h["outcome"] for h in run.history] == ["sent", "timeout", "exit"]
    assert subjects(smtp_server) == ["Welcome"]


def test_send_window_defers_to_the_next_opening(smtp_server):
    tenant, _, api, caller = setup(smtp_server, {
        "send_window": {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00",
                        "until": "20:00"},
        "steps": [{"send": "welcome"}]})
    saturday = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    with clock.travel(saturday):
        run = run_of(inject(api, caller))
        engine.advance_claimed(tenant.id, "t", engine.claim(tenant.id, "t"))
    run.refresh_from_db()
    assert run.wake_at == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # Monday 08:00 Berlin
    assert run.waiting["why"] == "send_window" and Message.objects.count() == 0
    with clock.travel(datetime(2026, 12, 7, 6, 59, tzinfo=UTC)):
        assert engine.claim(tenant.id, "t2") == []  # not yet
    with clock.travel(datetime(2026, 12, 7, 7, 0, 1, tzinfo=UTC)):
        engine.advance_claimed(tenant.id, "t3", engine.claim(tenant.id, "t3"))
    run.refresh_from_db()
    assert run.state == "finished" and Message.objects.filter(template_name="welcome").count() == 1


def test_cancel_mid_journey_sends_nothing_more_and_fires_the_webhook(smtp_server, receiver):
    tenant, _, api, caller = setup(smtp_server, {"steps": [
        {"send": "welcome"}, {"wait": "2s"}, {"send": "tips"}]})
    webhooks.create_endpoint(tenant=tenant, type="Webhook::ProcessCancellationEndpoint",
                             url=receiver.url("/cancel"), send_original_payload=False)
    response = inject(api, caller)
    run = run_of(response)
    assert run_until(lambda: len(smtp_server.received) == 1)
    uuid = response.json()["process_uuid"]
    cancelled = api.post(f"/api/v1/acme/processes/{uuid}/cancel", caller=caller)
    assert cancelled.status_code == 200, cancelled.content
    time.sleep(2.5)
    run_until(lambda: receiver.hits("/cancel"), 10)
    assert subjects(smtp_server) == ["Welcome"]
    run.refresh_from_db()
    assert run.state == "cancelled"
    [hit] = receiver.hits("/cancel")
    assert hit.json()["process_uuid"] == uuid
    again = api.post(f"/api/v1/acme/processes/{uuid}/cancel", caller=caller)
    assert again.status_code == 409


def test_a_finished_run_cannot_be_cancelled(smtp_server):
    _, _, api, caller = setup(smtp_server, {"steps": [{"send": "welcome"}]})
    response = inject(api, caller)
    run = run_of(response)
    assert run_until(lambda: JourneyRun.objects.get(pk=run.pk).state == "finished")
    uuid = response.json()["process_uuid"]
    assert api.post(f"/api/v1/acme/processes/{uuid}/cancel", caller=caller).status_code == 409


def test_worker_killed_mid_batch_sends_each_step_exactly_once(smtp_server, settings):
    tenant, _, api, caller = setup(smtp_server, {"steps": [
        {"send": "welcome"}, {"wait": "1s"}, {"send": "tips"}]})
    runs = [run_of(inject(api, caller, {"email": f"c{i}@example.org"})) for i in range(5)]
    # A worker claims the batch and dies before committing its step: nothing is written.
    claimed = engine.claim(tenant.id, "dead-worker")
    assert sorted(claimed) == sorted(r.id for r in runs)
    assert Message.objects.count() == 0
    # Its lease expires; the sweep makes the runs due again and another worker runs them.
    settings.DOXIE_JOURNEY_LEASE_SECONDS = 0
    with clock.travel(clock.now() + timedelta(seconds=300)):
        assert engine.DRAINER.sweep()["released"] == 5
    token = "second"
    ids = engine.claim(tenant.id, token)
    assert engine.advance_claimed(tenant.id, token, ids) == 5
    # The same step function run again (a duplicate job), and the dead worker waking up
    # with its stale token: neither finds a row to advance.
    assert engine.advance_claimed(tenant.id, token, ids) == 0
    assert engine.advance_claimed(tenant.id, "dead-worker", claimed) == 0
    assert run_until(lambda: len(smtp_server.received) == 10, 20)
    time.sleep(0.5)
    run_until(lambda: False, 1)
    per_recipient: dict[str, list[str]] = {}
    for r in smtp_server.received:
        per_recipient.setdefault(r.rcpt_tos[0], []).append(r.message["Subject"])
    assert all(v == ["Welcome", "Tips"] for v in per_recipient.values()) and \
        len(per_recipient) == 5
    assert JourneySend.objects.count() == 10


def test_a_journey_changed_in_flight_keeps_its_runs_on_their_version(smtp_server):
    tenant, event, api, caller = setup(smtp_server, {"steps": [
        {"send": "welcome"}, {"wait": "2s"}, {"send": "tips"}]})
    old = run_of(inject(api, caller, {"email": "old@example.org"}))
    assert run_until(lambda: len(smtp_server.received) == 1)
    v2 = publish(tenant, event, {"steps": [{"send": "pro"}]})
    assert v2.number == 2
    new = run_of(inject(api, caller, {"email": "new@example.org"}))
    assert run_until(lambda: len(smtp_server.received) == 3, 15)
    by_rcpt: dict[str, list[str]] = {}
    for r in smtp_server.received:
        by_rcpt.setdefault(r.rcpt_tos[0], []).append(r.message["Subject"])
    assert by_rcpt == {"old@example.org": ["Welcome", "Tips"], "new@example.org": ["Pro"]}
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.version.number == 1 and new.version.number == 2


def test_process_view_shows_the_path_and_the_wait(smtp_server, tenant=None):
    tenant, _, api, caller = setup(smtp_server, {"steps": [
        {"send": "welcome"}, {"wait": "1h"}, {"send": "tips"}]})
    from doxie.tenants import services as tenant_services
    from tests.helpers import PASSWORD, basic_caller

    tenant_services.create_admin_user(tenant=tenant, username="boss", password=PASSWORD,
                                      password_confirmation=PASSWORD, permissions=["read"]) \
        if hasattr(tenant_services, "create_admin_user") else None
    response = inject(api, caller)
    run = run_of(response)
    assert run_until(lambda: JourneyRun.objects.get(pk=run.pk).waiting_op == "wait")
    process = Process.objects.get(pk=run.process_id)
    from doxie.journeys.selectors import describe_process_steps

    described = describe_process_steps(process)
    assert described["waiting_in"]["step"] == "2" and described["waiting_in"]["op"] == "wait"
    assert [p["outcome"] for p in described["path"]] == ["sent"]
    del basic_caller
