from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from doxie.core.errors import DomainError
from doxie.tenants import services


class Command(BaseCommand):
    help = "Create an API user (HTTP Basic credentials for the public API) of a tenant."

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant")
        parser.add_argument("username")
        parser.add_argument("--password", required=True)

    def handle(self, *args, tenant: str, username: str, password: str, **options) -> None:
        try:
            api_user = services.create_api_user(
                tenant=services.get_tenant(tenant),
                username=username,
                password=password,
                password_confirmation=password,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Created API user {api_user.username} (id {api_user.id})")
