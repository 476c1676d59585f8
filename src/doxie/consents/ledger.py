"""The consent ledger: an append-only, per-tenant hash chain of everything that happened.

Each entry's ``entry_hash`` is SHA-256 over a canonical JSON of its fields plus the previous
entry's hash, so altering, inserting or deleting any row breaks the chain from that point on
(``verify``; ``doxie verify_ledger TENANT``). ``seq`` is gap-free per tenant, so a deleted
row is reported as a gap even where hashes alone would not say which row went missing.

Concurrent writers of one tenant are serialised with a transaction-scoped advisory lock:
two transactions reading the same head and both appending would fork the chain. The lock
is held until commit, so callers append as the *last* step of their transaction to keep
the serialised section short. Different tenants never wait for each other.

Raw email addresses and phone numbers never enter the ledger: ``channel_value_hash`` is a
SHA-256 of the tenant, channel and normalized value. An auditor who is given the address can
recompute it; the ledger alone does not reveal it, and erasure leaves the ledger intact.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from doxie.consents.models import Consent, ConsentLedgerEntry, Contact
from doxie.core.timefmt import isoformat_z

GENESIS = "0" * 64
#: First key of the two-key advisory lock ("CONS"); the second is the tenant id.
LOCK_NAMESPACE = 0x434F4E53
_INT4 = 2**31


def value_hash(tenant_id: int, channel: str, value: str) -> str:
    return hashlib.sha256(f"{tenant_id}:{channel}:{value}".encode()).hexdigest()


def normalize_ip(value: str | None) -> str:
    """Canonical text of an address, or "" (garbage from a misconfigured proxy is dropped)."""
    if not value:
        return ""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return ""


def _clean_text(value: str | None, limit: int | None = None) -> str:
    # PostgreSQL text cannot hold NUL; a hostile User-Agent must not turn into a 500.
    text = (value or "").replace("\x00", "")
    return text[:limit] if limit else text


def _timestamp(value: datetime) -> str:
    # Always six fractional digits: the hash chain covers this exact text.
    return isoformat_z(value, timespec="microseconds")


def canonical(entry: ConsentLedgerEntry) -> bytes:
    """The bytes that are hashed: every proof-relevant field, keys sorted, no whitespace."""
    document = {
        "tenant_id": entry.tenant_id,
        "seq": entry.seq,
        "consent_id": entry.consent_id,
        "contact_id": entry.contact_id,
        "kind": entry.kind,
        "occurred_at": _timestamp(entry.occurred_at),
        "actor": entry.actor,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "channel": entry.channel,
        "channel_value_hash": entry.channel_value_hash,
        "shown_text": entry.shown_text,
        "data": entry.data,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def compute_hash(entry: ConsentLedgerEntry) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


def entry(
    *,
    tenant_id: int,
    kind: str,
    actor: str,
    consent: Consent | None = None,
    contact: Contact | None = None,
    ip: str | None = None,
    user_agent: str = "",
    channel: str = "",
    channel_value: str = "",
    shown_text: str = "",
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> ConsentLedgerEntry:
    """An unsaved entry; ``append`` numbers, chains and stores it."""
    if consent is not None and contact is None:
        contact = consent.contact
    if consent is not None and not channel:
        channel = consent.channel
    if consent is not None and not channel_value:
        channel_value = consent.channel_value
    # Round-trip data through JSON now, so what is hashed is what jsonb gives back.
    clean_data = json.loads(json.dumps(data or {}, default=str))
    return ConsentLedgerEntry(
        tenant_id=tenant_id,
        consent=consent,
        contact=contact,
        kind=kind,
        occurred_at=occurred_at or timezone.now(),
        actor=_clean_text(actor, 200),
        ip=normalize_ip(ip),
        user_agent=_clean_text(user_agent, 1000),
        channel=channel,
        channel_value_hash=value_hash(tenant_id, channel, channel_value) if channel_value else "",
        shown_text=_clean_text(shown_text),
        data=clean_data,
    )


def _lock(tenant_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, tenant_id % _INT4]
        )


def _head(tenant_id: int) -> tuple[int, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq, entry_hash FROM consents_ledger_entry WHERE tenant_id = %s "
            "ORDER BY seq DESC LIMIT 1",
            [tenant_id],
        )
        row = cursor.fetchone()
    return (int(row[0]), row[1]) if row else (0, GENESIS)


def append(entries: Iterable[ConsentLedgerEntry]) -> list[ConsentLedgerEntry]:
    """Chain and insert ``entries`` (in order) inside the caller's transaction."""
    rows = list(entries)
    if not rows:
        return rows
    if not connection.in_atomic_block:
        raise RuntimeError("ledger.append must run inside transaction.atomic()")
    for tenant_id in sorted({row.tenant_id for row in rows}):  # fixed order: no deadlocks
        _lock(tenant_id)
        seq, prev = _head(tenant_id)
        for row in rows:
            if row.tenant_id != tenant_id:
                continue
            seq += 1
            row.seq, row.prev_hash = seq, prev
            row.entry_hash = prev = compute_hash(row)
    with transaction.atomic(savepoint=False):
        ConsentLedgerEntry.objects.bulk_create(rows)
    return rows


@dataclass(frozen=True)
class Verification:
    ok: bool
    count: int
    head_hash: str
    problem: str = ""
    entry_id: int | None = None
    seq: int | None = None


def verify(tenant_id: int, *, chunk_size: int = 2000) -> Verification:
    """Walk the tenant's chain in order; report the first entry that does not fit."""
    expected_seq, prev = 1, GENESIS
    rows = ConsentLedgerEntry.objects.filter(tenant_id=tenant_id).order_by("seq")
    count = 0
    for row in rows.iterator(chunk_size=chunk_size):
        problem = ""
        if row.seq != expected_seq:
            problem = f"sequence gap: expected seq {expected_seq}, found {row.seq}"
        elif row.prev_hash != prev:
            problem = "prev_hash does not match the previous entry's hash"
        elif compute_hash(row) != row.entry_hash:
            problem = "entry_hash does not match the entry's content"
        if problem:
            return Verification(False, count, prev, problem, row.id, row.seq)
        count += 1
        expected_seq, prev = row.seq + 1, row.entry_hash
    return Verification(True, count, prev)
