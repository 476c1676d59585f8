"""The ``doxie`` command: Django's management commands with Doxie's settings."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

#: Commands whose processes share Prometheus counters through files in the data folder.
METRICS_COMMANDS = {"run", "serve", "worker"}


def prepare_metrics_dir(command: str) -> None:
    """Multiprocess metrics need their folder before ``prometheus_client`` is imported.

    ``run`` starts the whole machine, so it empties the folder (counters restart with the
    processes); ``serve``/``worker`` under a service manager share one folder per host that
    the unit empties before the first process starts (see docs/operations.md)."""
    if command not in METRICS_COMMANDS or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    folder = Path(os.environ.get("DOXIE_DATA_DIR", "./.doxie")).resolve() / "metrics"
    if command == "run" and folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doxie.settings")
    args = sys.argv[1:] if argv is None else argv
    if args:
        prepare_metrics_dir(args[0])
    from django.core.management import execute_from_command_line

    execute_from_command_line(["doxie", *args])


if __name__ == "__main__":
    main()
