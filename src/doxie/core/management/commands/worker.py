"""``doxie worker``: the procrastinate worker only (scale out by running several).

SIGTERM/SIGINT stop it gracefully within ``DOXIE_SHUTDOWN_GRACE_SECONDS``: it stops taking
jobs, every drain run finishes the batch in flight and hands over (its successor job is
deferred, its slot lease released), other jobs get the grace period to finish. A job still
running after it is cancelled; a drain run cancelled then makes its claimed rows due again
(``core.drain``), so nothing waits for a lease to expire and nothing is lost.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from procrastinate.contrib.django import app
from procrastinate.worker import Worker

from doxie.core import drain
from doxie.core.jobs import log_context


class Command(BaseCommand):
    help = "Run a background worker (procrastinate) for all queues."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--concurrency", type=int, default=None)
        parser.add_argument("--grace", type=float, default=None,
                            help="seconds to finish jobs on SIGTERM "
                                 "(default DOXIE_SHUTDOWN_GRACE_SECONDS)")

    def handle(self, *args, concurrency: int | None = None, grace: float | None = None,
               **options) -> None:
        app.perform_import_paths()
        kwargs: dict[str, Any] = {
            **app.worker_defaults,
            "delete_jobs": "successful",
            "install_signal_handlers": False,
            "worker_middleware": [log_context],
            "shutdown_graceful_timeout": float(
                settings.DOXIE_SHUTDOWN_GRACE_SECONDS if grace is None else grace),
        }
        if concurrency:
            kwargs["concurrency"] = concurrency
        with app.replace_connector(app.connector.get_worker_connector()):
            asyncio.run(self._run(kwargs))

    async def _run(self, kwargs: dict[str, Any]) -> None:
        async with app.open_async():
            worker = Worker(app=app, **kwargs)
            loop = asyncio.get_running_loop()

            def stop() -> None:
                drain.begin_shutdown()
                worker.stop()

            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop)
            self.stderr.write(f"Doxie worker started (grace {kwargs['shutdown_graceful_timeout']}"
                              " s on SIGTERM)")
            await worker.run()
        self.stderr.write("Doxie worker stopped.")
