"""``doxie serve``: the web process only (scale out by running several).

SIGTERM: uvicorn stops accepting, finishes in-flight requests within
``DOXIE_SHUTDOWN_GRACE_SECONDS`` and exits. ``--metrics-port`` (or ``DOXIE_METRICS_PORT``)
serves ``/metrics`` without a token on a separate listener meant for a private network.
"""

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
        parser.add_argument("--metrics-port", type=int, default=None,
                            help="serve /metrics on this port (no token; bind privately)")
        parser.add_argument("--metrics-host", default="127.0.0.1")

    def handle(self, *args, host: str, port: int, workers: int, metrics_port: int | None,
               metrics_host: str, **options) -> None:
        import uvicorn
        from django.conf import settings

        metrics_port = metrics_port or settings.DOXIE_METRICS_PORT
        if metrics_port:
            from prometheus_client import start_http_server

            from doxie.core.metrics import registry

            start_http_server(metrics_port, addr=metrics_host, registry=registry())

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
            timeout_graceful_shutdown=settings.DOXIE_SHUTDOWN_GRACE_SECONDS,
        )
