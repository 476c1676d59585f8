"""The consent ledger: hash chain, append-only in the database, tamper detection by
`doxie verify_ledger`, no forks under concurrency, and the expiry job."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import DatabaseError, connection, connections, transaction

from doxie.consents import ledger, lifecycle, services
from doxie.consents.models import Consent, ConsentLedgerEntry, ConsentStatus
from doxie.core.jobs import app
from tests.consents.support import start
from tests.helpers import run_doxie, run_jobs


def _kinds(tenant) -> list[str]:
    entries = ConsentLedgerEntry.objects.filter(tenant=tenant).order_by("seq")
    return list(entries.values_list("kind", flat=True))


@pytest.mark.django_db
def test_chain_links_every_entry_to_the_previous_one(tenant, purpose):
    start(tenant)
    start(tenant, customer_id="c-2", phone="+491771234567")
    services.revoke(tenant=tenant, customer_id="c-1", revoke_all=True, actor=services.SYSTEM)

    entries = list(ConsentLedgerEntry.objects.filter(tenant=tenant).order_by("seq"))
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == ledger.GENESIS
    for previous, entry in zip(entries, entries[1:], strict=False):
        assert entry.prev_hash == previous.entry_hash
        assert entry.entry_hash == ledger.compute_hash(entry)
    result = ledger.verify(tenant.id)
    assert result.ok and result.count == 5 and result.head_hash == entries[-1].entry_hash


@pytest.mark.django_db
@pytest.mark.parametrize("statement", [
    "UPDATE consents_ledger_entry SET actor = 'someone else'",
    "DELETE FROM consents_ledger_entry",
])
def test_database_rejects_update_and_delete(tenant, purpose, statement):
    start(tenant)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)
    with pytest.raises(DatabaseError), transaction.atomic():
        ConsentLedgerEntry.objects.filter(tenant=tenant).update(ip="6.6.6.6")
    assert ConsentLedgerEntry.objects.filter(tenant=tenant).count() == 2


@pytest.mark.django_db(transaction=True)
def test_append_needs_a_transaction(tenant):
    entry = ledger.entry(tenant_id=tenant.id, kind="requested", actor="system")
    with pytest.raises(RuntimeError):
        ledger.append([entry])


TRIGGER = "ALTER TABLE consents_ledger_entry {} TRIGGER consents_ledger_append_only"


def _tamper(sql: str, params: list) -> None:
    """What an attacker with the table owner's rights could do."""
    with connection.cursor() as cursor:
        cursor.execute(TRIGGER.format("DISABLE"))
        cursor.execute(sql, params)
        cursor.execute(TRIGGER.format("ENABLE"))


@pytest.mark.django_db(transaction=True)
def test_verify_ledger_command_detects_tampering(tenant, purpose):
    for n in range(3):
        start(tenant, customer_id=f"c-{n}", email=f"p{n}@example.com")
    ok = run_doxie("verify_ledger", "acme")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok, 6 entries")

    victim = ConsentLedgerEntry.objects.get(tenant=tenant, seq=4)
    _tamper("UPDATE consents_ledger_entry SET ip = %s WHERE id = %s", ["6.6.6.6", victim.id])

    broken = run_doxie("verify_ledger", "acme")
    assert broken.returncode != 0
    assert f"id={victim.id} seq=4" in broken.stderr and "entry_hash" in broken.stderr

    # Rewriting the entry's own hash as well moves the break to the next entry.
    victim.refresh_from_db()
    _tamper("UPDATE consents_ledger_entry SET entry_hash = %s WHERE id = %s",
            [ledger.compute_hash(victim), victim.id])
    relinked = run_doxie("verify_ledger", "acme")
    assert relinked.returncode != 0 and "seq=5" in relinked.stderr
    assert "prev_hash" in relinked.stderr


@pytest.mark.django_db(transaction=True)
def test_verify_ledger_detects_deleted_entries_and_truncation(tenant, purpose):
    start(tenant)
    start(tenant, customer_id="c-2", email="b@example.com")
    head = ledger.verify(tenant.id).head_hash
    assert run_doxie("verify_ledger", "acme", "--expect-head", head).returncode == 0

    _tamper("DELETE FROM consents_ledger_entry WHERE tenant_id = %s AND seq = 2", [tenant.id])
    gap = run_doxie("verify_ledger", "acme")
    assert gap.returncode != 0 and "sequence gap" in gap.stderr

    _tamper("DELETE FROM consents_ledger_entry WHERE tenant_id = %s AND seq > 1", [tenant.id])
    assert run_doxie("verify_ledger", "acme").returncode == 0  # a shorter chain is intact…
    cut = run_doxie("verify_ledger", "acme", "--expect-head", head)
    assert cut.returncode != 0 and "expected" in cut.stderr  # …but not the recorded one


@pytest.mark.django_db(transaction=True)
def test_verify_ledger_unknown_tenant_fails(tenant):
    result = run_doxie("verify_ledger", "ghost")
    assert result.returncode != 0 and "unknown tenant" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_do_not_fork_the_chain(tenant, purpose, clean_jobs):
    purpose.resend_throttle_seconds = 0
    purpose.save()

    def one(n: int) -> None:
        try:
            services.initiate(
                tenant=tenant, customer_id=f"c-{n}", consent_slug="marketing",
                email=f"p{n}@example.com", actor=services.SYSTEM,
            )
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(40)))

    result = ledger.verify(tenant.id)
    assert result.ok, result.problem
    assert result.count == 80
    seqs = list(ConsentLedgerEntry.objects.filter(tenant=tenant).values_list("seq", flat=True))
    assert sorted(seqs) == list(range(1, 81))


@pytest.mark.django_db
def test_expire_job_expires_due_pending_consents_in_batches(tenant, purpose):
    due = [start(tenant, customer_id=f"c-{n}", email=f"p{n}@example.com")[0] for n in range(5)]
    fresh, _ = start(tenant, customer_id="fresh", email="fresh@example.com")
    Consent.objects.filter(id__in=[c.id for c in due]).update(expires_at="2000-01-01T00:00:00Z")
    Consent.objects.filter(id=due[0].id).update(status=ConsentStatus.CONFIRMED)

    assert lifecycle.expire_due(batch_size=2) == 4
    assert lifecycle.expire_due(batch_size=2) == 0  # idempotent

    statuses = dict(Consent.objects.values_list("id", "status"))
    assert statuses[due[0].id] == "confirmed" and statuses[fresh.id] == "pending"
    assert [statuses[c.id] for c in due[1:]] == ["expired"] * 4
    assert _kinds(tenant).count("expired") == 4
    assert ledger.verify(tenant.id).ok


@pytest.mark.django_db(transaction=True)
def test_expire_task_is_periodic_and_runs_in_a_worker(tenant, purpose, clean_jobs):
    assert "consents.expire" in app.tasks
    consent, _ = start(tenant)
    Consent.objects.filter(id=consent.id).update(expires_at="2000-01-01T00:00:00Z")

    app.tasks["consents.expire"].defer(timestamp=0)
    run_jobs(queues=["default"])

    consent.refresh_from_db()
    assert consent.status == "expired"
