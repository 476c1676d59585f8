"""``doxie verify_ledger TENANT``: check the tenant's consent ledger hash chain.

Exit status 0 with ``ok, N entries`` when every entry is intact and in sequence; otherwise a
non-zero exit naming the first entry that does not fit. The head hash is printed too, so an
operator can record it elsewhere and later pass it back with ``--expect-head``: a chain that
was cut off at the end, or rewritten as a whole, then fails as well.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from doxie.consents import ledger
from doxie.tenants.models import Tenant


class Command(BaseCommand):
    help = "Verify the consent ledger hash chain of a tenant."

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant", help="tenant slug")
        parser.add_argument(
            "--expect-head", default=None, help="head hash recorded earlier (detects truncation)"
        )

    def handle(self, *args, tenant: str, expect_head: str | None, **options) -> None:
        found = Tenant.objects.filter(slug=tenant).first()
        if found is None:
            raise CommandError(f"unknown tenant '{tenant}'")
        result = ledger.verify(found.id)
        if not result.ok:
            raise CommandError(
                f"ledger of tenant '{tenant}' is broken at entry id={result.entry_id} "
                f"seq={result.seq}: {result.problem} ({result.count} entries verified before it)"
            )
        if expect_head and expect_head != result.head_hash:
            raise CommandError(
                f"ledger of tenant '{tenant}' ends at head {result.head_hash}, "
                f"expected {expect_head}: entries were removed or the chain was rewritten"
            )
        self.stdout.write(f"ok, {result.count} entries (head {result.head_hash})")
