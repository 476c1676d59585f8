from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from doxie.core.errors import DomainError
from doxie.tenants import services


class Command(BaseCommand):
    help = "Create a person who can log into the admin UI and authorize OAuth2 apps."

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant")
        parser.add_argument("username")
        parser.add_argument("--email", required=True)
        parser.add_argument("--read", action="store_true")
        parser.add_argument("--write", action="store_true")
        parser.add_argument("--password", default=None, help="generated when omitted")

    def handle(self, *args, tenant: str, username: str, email: str, read: bool, write: bool,
               password: str | None, **options) -> None:
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"'{email}' is not a valid email address") from None
        try:
            user, password = services.create_admin(
                tenant=services.get_tenant(tenant), username=username, email=email,
                can_read=read or not write, can_write=write, password=password,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Created admin {user.username}; password (shown once): {password}")
