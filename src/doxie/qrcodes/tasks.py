"""Procrastinate jobs of the QR app (stable names; they are stored in the jobs table).

* ``qrcodes.notify`` (per tenant, queueing lock ``qrcodes.notify:{tenant}``) — turn pending
  scans into ``qr_code_scanned`` deliveries, a batch per ``emit_many``. Deferred by the scan
  transaction (``scanning.wake_notifier``).
* ``qrcodes.sweep`` — every minute: wake the notifier of any tenant whose pending scans
  have waited for more than a minute (a notifier that died or gave up).
* ``qrcodes.retention`` — hourly: scans follow their brand's message retention: IP and
  user agent are pseudonymized after the pseudonymization period, scans deleted after the
  storage period. The code's counters stay (they hold no personal data).

All are idempotent: a second run finds nothing pending and changes nothing; a scan is
marked notified in the transaction that writes its interactions, so it is sent once.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from doxie.core.jobs import DEFAULT_RETRY, app
from doxie.messaging.privacy import pseudonym
from doxie.qrcodes import scanning, services
from doxie.qrcodes.models import QrScan

NOTIFY_BATCH = 500
_SCAN = QrScan._meta.db_table


@app.task(name=scanning.NOTIFY_TASK, retry=DEFAULT_RETRY)
def notify(tenant_id: int) -> int:
    return notify_pending(tenant_id)


def notify_pending(tenant_id: int, *, batch_size: int = NOTIFY_BATCH, max_batches: int = 100
                   ) -> int:
    """Emit ``qr_code_scanned`` for the tenant's pending scans, oldest first; returns how
    many scans were handled. Concurrent notifiers skip each other's locked rows."""
    from doxie.tenants.models import Tenant
    from doxie.webhooks.services import emit_many

    tenant = Tenant.objects.filter(id=tenant_id).first()
    if tenant is None:
        return 0
    handled = 0
    for _ in range(max_batches):
        with transaction.atomic():
            scans = list(
                QrScan.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(tenant_id=tenant_id, notify_pending=True)
                .select_related("code__process")
                .order_by("id")[:batch_size]
            )
            if not scans:
                break
            emit_many(tenant=tenant, events=[
                services.scanned_event(s, s.code, s.code.process) for s in scans
            ])
            QrScan.objects.filter(id__in=[s.id for s in scans]).update(
                notify_pending=False, updated_at=timezone.now()
            )
        handled += len(scans)
        if len(scans) < batch_size:
            break
    return handled


@app.periodic(cron="* * * * *", periodic_id="qrcodes.sweep")
@app.task(name="qrcodes.sweep", queueing_lock="qrcodes.sweep")
def sweep(timestamp: int | None = None) -> int:
    return wake_stale_notifiers()


def wake_stale_notifiers(older_than: timedelta = timedelta(minutes=1)) -> int:
    tenant_ids = list(
        QrScan.objects.filter(notify_pending=True, scanned_at__lt=timezone.now() - older_than)
        .values_list("tenant_id", flat=True).distinct()
    )
    with transaction.atomic():
        for tenant_id in tenant_ids:
            scanning.wake_notifier(tenant_id)
    return len(tenant_ids)


@app.periodic(cron="47 * * * *", periodic_id="qrcodes.retention")
@app.task(name="qrcodes.retention", queueing_lock="qrcodes.retention")
def retention(timestamp: int | None = None) -> dict[str, int]:
    return apply_retention()


_PSEUDONYMIZE_SQL = f"""
    UPDATE {_SCAN} SET ip = %s, user_agent = %s, referrer = '', pseudonymized_at = %s,
           updated_at = %s
    WHERE id = %s
"""  # noqa: S608 - table name is ours, values are parameters


def _pseudonymize(rows: list[tuple[int, str, str]]) -> None:
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(_PSEUDONYMIZE_SQL, [
            (pseudonym(ip) if ip else "", pseudonym(ua) if ua else "", now, now, scan_id)
            for scan_id, ip, ua in rows
        ])


def apply_retention(*, batch_size: int = 1000, max_batches: int = 500) -> dict[str, int]:
    """Per brand (the brand of the code's event): delete scans older than
    ``storage_duration_of_sent_messages_in_days``, pseudonymize those older than
    ``pseudonymization_duration_of_sent_messages_in_days``. Bounded batches, each its own
    short transaction; a scan still waiting for its webhook is kept until it is sent."""
    from doxie.brands.models import Brand

    now = timezone.now()
    totals = {"deleted": 0, "pseudonymized": 0}
    batches = 0
    brands = Brand.objects.order_by("id").values_list(
        "id", "pseudonymization_duration_of_sent_messages_in_days",
        "storage_duration_of_sent_messages_in_days",
    )
    for brand_id, pseudo_days, storage_days in brands:
        scans = QrScan.objects.filter(code__event__brand_id=brand_id, notify_pending=False)
        expired = scans.filter(scanned_at__lt=now - timedelta(days=storage_days))
        while batches < max_batches:
            batches += 1
            ids = list(expired.order_by("id").values_list("id", flat=True)[:batch_size])
            if ids:
                with transaction.atomic():
                    totals["deleted"] += QrScan.objects.filter(id__in=ids).delete()[0]
            if len(ids) < batch_size:
                break
        stale = scans.filter(
            scanned_at__lt=now - timedelta(days=pseudo_days), pseudonymized_at__isnull=True
        )
        while batches < max_batches:
            batches += 1
            rows = list(stale.order_by("id").values_list("id", "ip", "user_agent")[:batch_size])
            if rows:
                _pseudonymize(rows)
                totals["pseudonymized"] += len(rows)
            if len(rows) < batch_size:
                break
    return totals
