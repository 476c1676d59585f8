from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from doxie.core.errors import DomainError
from doxie.tenants import services


class Command(BaseCommand):
    help = "Create a tenant."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default=None)
        parser.add_argument("--time-zone", default="Europe/Berlin")

    def handle(self, *args, slug: str, name: str | None, time_zone: str, **options) -> None:
        try:
            tenant = services.create_tenant(slug=slug, name=name, time_zone=time_zone)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Created tenant {tenant.slug} (id {tenant.id})")
