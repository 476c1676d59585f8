"""Recording a scan: the public path's one write, in at most two queries.

Every ``GET /qr/{uuid}`` is a scan. One statement (a data-modifying CTE) bumps the code's
counters, inserts the scan row and decides whether anybody listens for
``qr_code_scanned``; when somebody does, the scan row is the webhook's outbox entry
(``notify_pending``) and a second statement makes sure a notifier job is waiting for the
tenant. Both run in one transaction: a scan is counted exactly when its notification is
queued, and a rollback (database gone mid-request) loses neither half alone.

Why an outbox row instead of calling ``webhooks.emit`` here: ``emit`` costs three to six
queries (endpoints, interactions, the drainer look-up and its savepointed deferral), which
would triple the cost of the hottest public URL; the notifier turns hundreds of pending
scans into deliveries with one ``emit_many``.

The deferral is one ``INSERT … ON CONFLICT DO NOTHING`` into procrastinate's job table:
the job is built by procrastinate (``make_new_job``), and the conflict on its queueing-lock
index means "a notifier is already waiting", so there is no savepoint and no extra look-up.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from doxie.core.jobs import app
from doxie.qrcodes import detection
from doxie.qrcodes.models import QrCode, QrScan, ScanStatus
from doxie.qrcodes.services import status_of
from doxie.webhooks.events import QrCodeScanned
from doxie.webhooks.models import WebhookEndpoint

NOTIFY_TASK = "qrcodes.notify"

_CODE = QrCode._meta.db_table
_SCAN = QrScan._meta.db_table
_ENDPOINT = WebhookEndpoint._meta.db_table

_SCAN_SQL = f"""
WITH code AS (
    UPDATE {_CODE} q SET
        scans_total = q.scans_total + 1,
        scans_human = q.scans_human + %(human)s,
        scans_bot = q.scans_bot + 1 - %(human)s,
        first_scan_at = COALESCE(q.first_scan_at, %(now)s),
        last_scan_at = %(now)s
    WHERE q.uuid = %(uuid)s
    RETURNING q.id, q.tenant_id, q.event_id, q.target_url, q.expired_url, q.store_full_ip,
        CASE WHEN q.cancelled_at IS NOT NULL THEN 'cancelled'
             WHEN q.valid_until IS NOT NULL AND q.valid_until <= %(now)s THEN 'expired'
             ELSE 'active' END AS status
), scan AS (
    INSERT INTO {_SCAN} (tenant_id, code_id, scanned_at, status, user_agent, referrer, ip,
                         potential_bot, link_preview, notify_pending, created_at, updated_at)
    SELECT c.tenant_id, c.id, %(now)s, c.status, %(ua)s, %(referrer)s,
           CASE WHEN c.store_full_ip THEN %(full_ip)s ELSE %(short_ip)s END,
           %(bot)s, %(preview)s,
           EXISTS (SELECT 1 FROM {_ENDPOINT} e
                   WHERE e.tenant_id = c.tenant_id AND e.type = %(type)s AND e.is_active),
           %(now)s, %(now)s
    FROM code c
    RETURNING notify_pending
)
SELECT c.id, c.tenant_id, c.event_id, c.target_url, c.expired_url, c.status,
       s.notify_pending
FROM code c, scan s
"""  # noqa: S608 - table names are ours, values are parameters

_DEFER_SQL = """
INSERT INTO procrastinate_jobs
    (queue_name, task_name, priority, lock, queueing_lock, args, scheduled_at)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT DO NOTHING
"""


@dataclass(frozen=True)
class Outcome:
    """What the public view needs to answer a scan (or a HEAD)."""

    code_id: int
    tenant_id: int
    event_id: int
    target_url: str
    expired_url: str
    status: str

    @property
    def active(self) -> bool:
        return self.status == ScanStatus.ACTIVE


def parse_uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def notifier_lock(tenant_id: int) -> str:
    return f"{NOTIFY_TASK}:{tenant_id}"


def wake_notifier(tenant_id: int) -> None:
    """Make sure a notifier job is waiting for the tenant; one query, in the caller's
    transaction (a waiting one already covers our scan)."""
    job = app.configure_task(
        name=NOTIFY_TASK, queueing_lock=notifier_lock(tenant_id)
    ).make_new_job(tenant_id=tenant_id)
    with connection.cursor() as cursor:
        cursor.execute(_DEFER_SQL, [
            job.queue, job.task_name, job.priority, job.lock, job.queueing_lock,
            json.dumps(job.task_kwargs), job.scheduled_at,
        ])


def record_scan(
    code_uuid: uuid.UUID, *, user_agent: str, referrer: str, ip: str, headers: dict[str, str]
) -> Outcome | None:
    """Count one scan of the code and queue its webhook; None for an unknown code."""
    user_agent = detection.clip(user_agent)
    preview = detection.is_link_preview(user_agent, headers)
    bot = preview or detection.is_bot(user_agent)
    params = {
        "uuid": code_uuid, "now": timezone.now(), "human": 0 if bot else 1,
        "ua": user_agent, "referrer": detection.clip(referrer),
        "full_ip": detection.truncated_ip(ip, full=True), "short_ip": detection.truncated_ip(ip),
        "bot": bot, "preview": preview, "type": QrCodeScanned.ENDPOINT_TYPE,
    }
    # savepoint=False: inside a caller's transaction (tests) no SAVEPOINT round trips; an
    # error here is never caught and carried on from, so the caller's rollback is right.
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute(_SCAN_SQL, params)
            row = cursor.fetchone()
        if row is None:
            return None
        *fields, notify = row
        outcome = Outcome(*fields)
        if notify:
            wake_notifier(outcome.tenant_id)
    return outcome


def peek(code_uuid: uuid.UUID) -> Outcome | None:
    """The code as a HEAD sees it: same answer as a scan, nothing recorded."""
    code = (
        QrCode.objects.filter(uuid=code_uuid)
        .only("id", "tenant_id", "event_id", "target_url", "expired_url", "valid_until",
              "cancelled_at")
        .first()
    )
    if code is None:
        return None
    return Outcome(code.id, code.tenant_id, code.event_id, code.target_url, code.expired_url,
                   status_of(code))
