"""``doxie run``: everything for one machine — migrations, demo tenant, web and a worker.

Web and worker run as child processes (the same commands a scaled-out deployment uses), so
this is exactly the production topology on one box. Ctrl-C / SIGTERM stops both cleanly.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run migrations, the web server and one worker together (single machine)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-demo", action="store_true", help="do not create a demo tenant")

    def handle(self, *args, host: str, port: int, no_demo: bool, **options) -> None:
        self.stdout.write(f"Doxie data folder: {settings.DATA_DIR}")
        self.stdout.write(
            "Database: " + ("DATABASE_URL" if settings.DATABASE_URL else "embedded PostgreSQL")
        )
        call_command("migrate", interactive=False, verbosity=0)
        if not no_demo:
            self._demo_tenant(host, port)
        base = [sys.executable, "-m", "doxie.cli"]
        children = [
            subprocess.Popen([*base, "serve", "--host", host, "--port", str(port)]),
            subprocess.Popen([*base, "worker"]),
        ]
        self.stdout.write(f"Doxie is running on http://{host}:{port}/ (API docs: /api/docs)")
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.3)
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = [c.returncode for c in children if c.returncode not in (0, -15, None)]
        if failed and not stopping:
            sys.exit(1)
        self.stdout.write("Doxie stopped.")

    def _demo_tenant(self, host: str, port: int) -> None:
        from doxie.tenants import demo

        if not demo.demo_allowed():
            self.stdout.write("Production: no demo tenant (create tenants with create_tenant).")
            return
        created = demo.create_demo_tenant_if_empty()
        if created is None:
            return
        self.stdout.write(self.style.SUCCESS("Created demo tenant (shown once):"))
        self.stdout.write(json.dumps(created, indent=2))
        self.stdout.write(
            f"Get a token: curl -s -u CLIENT_ID:CLIENT_SECRET -d grant_type=client_credentials "
            f"http://{host}:{port}/oauth/token"
        )
