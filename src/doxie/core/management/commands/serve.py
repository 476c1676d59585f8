"""``doxie serve``: the web process only (scale out by running several)."""

from __future__ import annotations

import signal
import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server (ASGI, uvicorn)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")

    def handle(self, *args, host: str, port: int, workers: int, **options) -> None:
        import uvicorn

        # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown; exiting through
        # Python instead lets atexit hooks run (the embedded PostgreSQL's last user stops it).
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: sys.exit(0))
        uvicorn.run(
            "doxie.asgi:application",
            host=host,
            port=port,
            workers=workers,
            lifespan="off",
            log_level="warning",
            access_log=False,
        )
