"""Receipts of provider callbacks that are not message statuses.

Status reports dedupe through ``MessageStatusEvent.dedupe_key``. An inbound RCS reply is not
a status of our message, yet a duplicated callback must not fire ``rcs_response`` twice, so
its provider event id is kept here under a unique constraint: the insert is the idempotency
check, atomic with the webhook it guards. Only ids are stored (no sender, no content): the row
exists to remember "seen", not to keep personal data past the message's own retention (it
cascades with the message).
"""

from __future__ import annotations

from django.db import models

from doxie.core.models import TenantOwned


class InboundReceipt(TenantOwned):
    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="+")
    # e.g. "seven:rcs_reply:123456" — provider, kind and the provider's event id
    key = models.CharField(max_length=255)
    message = models.ForeignKey(
        "messaging.Message", on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["brand", "key"], name="uniq_inbound_receipt")
        ]

    def __str__(self) -> str:
        return self.key
