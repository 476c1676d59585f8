from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from doxie.core.errors import DomainError
from doxie.tenants import services


class Command(BaseCommand):
    help = "Create an OAuth2 client-credentials application acting for a tenant."

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant")
        parser.add_argument("--scopes", default="read write")
        parser.add_argument("--json", action="store_true", help="print one JSON line")

    def handle(self, *args, tenant: str, scopes: str, json: bool, **options) -> None:
        try:
            creds = services.create_oauth_client(
                tenant=services.get_tenant(tenant), scopes=scopes.split()
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if json:
            self.stdout.write(
                _dumps({"client_id": creds.client_id, "client_secret": creds.client_secret})
            )
        else:
            self.stdout.write(f"client_id:     {creds.client_id}")
            self.stdout.write(f"client_secret: {creds.client_secret}  (shown once)")


def _dumps(value: dict) -> str:
    return json.dumps(value)
