"""Removing personal data from sent messages: retention (by age) and erasure (by person).

A pseudonym is a keyed hash of the address, so counts and statuses survive while the address
cannot be recovered or confirmed by guessing without the key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from doxie.messaging.models import Message, MessageStatus, MessageStatusEvent
from doxie.processes.models import Process

_MSG = Message._meta.db_table
_UNSENT = (MessageStatus.QUEUED, MessageStatus.SENDING)


def pseudonym(recipient: str) -> str:
    """Keyed hash: the same address always maps to the same value (counting stays possible)
    but the address cannot be recovered or confirmed by guessing without the key."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), recipient.strip().lower().encode(), hashlib.sha256
    )
    return f"pseudonym:{digest.hexdigest()}"


_PSEUDONYMIZE_SQL = f"""
    UPDATE {_MSG} SET recipient = %s, status_reason = replace(status_reason, %s, %s),
           subject = '', html = '', text = '', rcs_content = '{{}}'::jsonb,
           headers = '{{}}'::jsonb, secret_values = '', pseudonymized_at = %s, updated_at = %s
    WHERE id = %s
"""  # noqa: S608 - table name is ours, values are parameters


def pseudonymize_batch(ids_recipients: list[tuple[int, str]]) -> None:
    now = timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.executemany(_PSEUDONYMIZE_SQL, [
                (pseudonym(r), r, pseudonym(r), now, now, message_id)
                for message_id, r in ids_recipients
            ])
        ids = [message_id for message_id, _ in ids_recipients]
        # Provider reports may quote the address; the statuses themselves stay.
        MessageStatusEvent.objects.filter(message_id__in=ids).update(detail={})
        process_ids = set(
            Message.objects.filter(id__in=ids).values_list("process_id", flat=True)
        )
        clear_payloads(Process.objects.filter(id__in=process_ids))


def clear_payloads(processes) -> int:
    """Original payloads go once no message of the process still holds personal data."""
    unpseudonymized = Message.objects.filter(process=OuterRef("pk"), pseudonymized_at__isnull=True)
    return (
        processes.exclude(original_payload={})
        .exclude(Exists(unpseudonymized))
        .update(original_payload={}, updated_at=timezone.now())
    )


@transaction.atomic
def erase_recipient(*, tenant, addresses: Iterable[str], process_ids: Iterable[int] = ()) -> int:
    """Pseudonymize every message of the tenant sent to ``addresses`` (a data-subject erasure)
    and clear the original payloads of ``process_ids``, which carried the person's data.

    Messages still waiting to be sent are cancelled rather than left holding the address.
    Returns the number of messages pseudonymized.
    """
    wanted = sorted({a.strip().lower() for a in addresses if a and a.strip()})
    if wanted:
        Message.objects.filter(
            tenant=tenant, recipient__in=wanted, status__in=_UNSENT
        ).update(status=MessageStatus.CANCELLED, status_reason="erased", updated_at=timezone.now())
    rows = list(
        Message.objects.filter(tenant=tenant, recipient__in=wanted, pseudonymized_at__isnull=True)
        .values_list("id", "recipient")
    ) if wanted else []
    for start in range(0, len(rows), 1000):
        pseudonymize_batch(rows[start : start + 1000])
    ids = list(process_ids)
    if ids:
        Process.objects.filter(tenant=tenant, id__in=ids).update(
            original_payload={}, updated_at=timezone.now()
        )
    return len(rows)
