"""``doxie rotate_encryption_keys``: re-encrypt every secret at rest under the newest key.

Rotation procedure: prepend a new key to ``DOXIE_ENCRYPTION_KEYS`` (old keys still decrypt),
run this command, then drop the old key. It finds every ``EncryptedTextField`` of every
installed model, so secrets added by other apps later are covered without changes here.

Rows are processed in primary-key batches, each in its own transaction with the rows locked
(``SELECT … FOR UPDATE``), so a concurrent edit of the same secret is never overwritten with
the value read before it. The ciphertext is read raw (cast to text, bypassing the field's
decryption) so one undecryptable value is reported and skipped instead of aborting the run;
the command then exits non-zero so the old key is not dropped by mistake.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.db.models.functions import Cast

from doxie.core.crypto import EncryptedTextField, decrypt


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every concrete (model, field) pair storing an encrypted value."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                found.append((model, field))
    return found


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field value under the newest DOXIE_ENCRYPTION_KEYS key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = max(1, int(options["batch_size"]))
        total = failed = 0
        for model, field in encrypted_fields():
            done, bad = self._rotate(model, field, batch_size)
            total += done
            failed += bad
            label = f"{model._meta.label}.{field.name}"
            line = f"{label}: {done} re-encrypted"
            self.stdout.write(line + (f", {bad} could not be decrypted" if bad else ""))
        self.stdout.write(f"Total: {total} values re-encrypted")
        if failed:
            raise CommandError(
                f"{failed} values could not be decrypted with the configured keys; "
                "keep the old keys until they are fixed"
            )

    def _rotate(
        self, model: type[models.Model], field: EncryptedTextField, batch_size: int
    ) -> tuple[int, int]:
        manager = model._base_manager
        pk_name = model._meta.pk.attname
        raw = f"_raw_{field.attname}"
        last_pk: Any = None
        done = failed = 0
        while True:
            with transaction.atomic():
                rows = (
                    manager.select_for_update()
                    .exclude(**{f"{field.attname}__isnull": True})
                    .exclude(**{field.attname: ""})
                    .annotate(**{raw: Cast(field.attname, models.TextField())})
                    .order_by(pk_name)
                )
                if last_pk is not None:
                    rows = rows.filter(**{f"{pk_name}__gt": last_pk})
                batch = list(rows.values_list(pk_name, raw)[:batch_size])
                if not batch:
                    return done, failed
                last_pk = batch[-1][0]
                updates = []
                for pk, stored in batch:
                    try:
                        plaintext = decrypt(stored)
                    except ValueError:
                        failed += 1
                        self.stderr.write(f"{model._meta.label} {pk}: {field.name} undecryptable")
                        continue
                    # Saving the plaintext through the field encrypts it with the newest key.
                    updates.append(model(**{pk_name: pk, field.attname: plaintext}))
                manager.bulk_update(updates, [field.attname], batch_size=batch_size)
                done += len(updates)
