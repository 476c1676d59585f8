"""``doxie worker``: the procrastinate worker only (scale out by running several)."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run a background worker (procrastinate) for all queues."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--concurrency", type=int, default=None)

    def handle(self, *args, concurrency: int | None = None, **options) -> None:
        argv = ["worker", "--delete-jobs", "successful"]
        if concurrency:
            argv += ["--concurrency", str(concurrency)]
        call_command("procrastinate", *argv)
