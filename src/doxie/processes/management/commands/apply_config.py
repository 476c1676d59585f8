"""``doxie apply_config TENANT FILE.yaml [--dry-run]``: configuration as code.

One YAML document configures a tenant's consent purposes and events with their templates.
Every section is validated before anything is written; on any problem each is printed on its
own line and the command exits 1 having changed nothing. Then all sections are applied in one
transaction, consent purposes before events (an event may require a purpose of the same
file). Applying the same file twice prints "no changes" and writes nothing; ``--dry-run``
prints the changes and rolls everything back.

Sections are the handlers the apps registered in ``processes.registry`` (each app in its
``AppConfig.ready()``): ``validate(tenant, document) -> list[str]`` (problems) and
``apply(tenant, document, *, dry_run) -> list[str]`` (changes; a line ending in
": unchanged" reports that nothing changed). A top-level key no app registered is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from doxie.processes.registry import registry
from doxie.tenants.models import Tenant


class _Rollback(Exception):
    """Ends a dry run's transaction."""


def load_document(path: str) -> Any:
    """The parsed YAML, or CommandError with a one-line reason."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CommandError(f"{path} is not valid YAML{where}: {problem}") from None


class Command(BaseCommand):
    help = "Create or update a tenant's consent purposes, events and templates from YAML."

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant", help="The tenant slug")
        parser.add_argument("file", help="The YAML document (see docs/configuration.md)")
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the changes without making them"
        )

    def handle(self, *args: Any, tenant: str, file: str, dry_run: bool, **options: Any) -> None:
        target = Tenant.objects.filter(slug=tenant).first()
        if target is None:
            raise CommandError(f"tenant '{tenant}' does not exist")
        document = load_document(file)
        if document is None:
            document = {}
        if not isinstance(document, dict):
            raise CommandError(f"{file}: the document must be a mapping of sections")
        known = registry.sections
        problems = [f"unknown section '{key}' (known: {', '.join(sorted(known))})"
                    for key in document if key not in known]
        # A dotted key ("events.qr") is a part of its parent section, run whenever it is.
        sections = [s for s in registry.ordered_sections()
                    if s.key.partition(".")[0] in document]
        for section in sections:
            problems += section.validate(target, document)
        if problems:
            for problem in problems:
                self.stderr.write(f"error: {problem}")
            raise CommandError(f"{len(problems)} problem(s) in {file}; nothing was changed")
        changes: list[str] = []
        try:
            with transaction.atomic():
                for section in sections:
                    changes += section.apply(target, document, dry_run=dry_run)
                if dry_run:
                    raise _Rollback
        except _Rollback:
            pass
        real = [line for line in changes if not line.endswith(": unchanged")]
        prefix = "would change: " if dry_run else ""
        for line in real:
            self.stdout.write(f"{prefix}{line}")
        if not real:
            self.stdout.write("no changes")
        elif dry_run:
            self.stdout.write(f"dry run: {len(real)} change(s), nothing was written")
