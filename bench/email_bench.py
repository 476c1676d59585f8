"""Email throughput end to end (Mailer accepted -> SMTP sink received), next to a bare
aiosmtplib loop into the same sink. Not a test: prints figures, never fails on time.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python \
        bench/email_bench.py [--messages 20000] [--per-request 200] [--concurrency 8]

What runs where:

* the SMTP sink (aiosmtpd, counts messages) in a child process, so its GIL does not compete
  with the code being measured;
* the ceiling: a bare aiosmtplib loop over as many connections as the SMTP adapter pools (4),
  sending messages of the same size, in this process;
* the pipeline: Mailer requests through the full Django stack (in-process test client), each
  with ``--per-request`` recipients of one template (so 20 000 messages are 100 requests), and
  ``--workers`` ``doxie worker`` child processes (default 2, one per core of the target
  machine) draining into the sink. Time runs from the first request
  to the sink's last message.

Uses its own database ``doxie_bench`` (dropped and re-created on every run, dropped at the
end) on the server of DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
DB_NAME = "doxie_bench"
SENDER = "bench@example.com"


# --- the sink (child process) ---------------------------------------------------------------


def _sink(port_out, counter, stop) -> None:
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)

    class Handler:
        async def handle_DATA(self, server, session, envelope) -> str:
            with counter.get_lock():
                counter.value += 1
            return "250 2.0.0 queued"

    import socket

    with socket.socket() as probe:  # aiosmtpd needs a concrete port to probe its server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    port_out.value = controller.port
    stop.wait()
    controller.stop()


class Sink:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.port = ctx.Value("i", 0)
        self.counter = ctx.Value("l", 0)
        self.stop = ctx.Event()
        self.proc = ctx.Process(target=_sink, args=(self.port, self.counter, self.stop),
                                daemon=True)
        self.proc.start()
        while self.port.value == 0:
            if not self.proc.is_alive():
                raise SystemExit("the SMTP sink did not start")
            time.sleep(0.05)

    @property
    def count(self) -> int:
        return self.counter.value

    def wait_for(self, n: int, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while self.count < n:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.01)
        return time.monotonic()

    def close(self) -> None:
        self.stop.set()
        self.proc.join(5)


# --- database -------------------------------------------------------------------------------


_ADMIN_URL = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"


def _admin_url() -> str:
    """The server's maintenance database (DATABASE_URL as given, before we repoint it)."""
    return _ADMIN_URL


def _bench_url() -> str:
    parts = urlsplit(_admin_url())
    return urlunsplit(parts._replace(path="/" + DB_NAME))


def _recreate_database(drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def _env(data_dir: str) -> dict[str, str]:
    return {
        **os.environ, "DATABASE_URL": _bench_url(), "DJANGO_SETTINGS_MODULE": "doxie.settings",
        "DOXIE_ALLOW_PRIVATE_URLS": "1", "DOXIE_DATA_DIR": data_dir,
        "DOXIE_LOG_LEVEL": "WARNING", "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}",
    }


# --- the ceiling ----------------------------------------------------------------------------


def _sample_bytes() -> bytes:
    from doxie.providers.base import EmailMessage
    from doxie.providers.email.mime import render_mime

    html = "<p>Hallo Max, <a href='https://doxie.example/l/abcdefghijklmnopqrstuv'>los</a></p>"
    return render_mime(EmailMessage(
        message_id="0b1c2d3e-0000-4000-8000-000000000000", sender=SENDER,
        to=["user0@example.org"], subject="Willkommen Max", html=html,
        text="Hallo Max, los (https://doxie.example/l/abcdefghijklmnopqrstuv)",
        sender_name="Bench",
    ))


async def _bare_loop(port: int, n: int, connections: int) -> float:
    import aiosmtplib

    payload = _sample_bytes()
    per = n // connections

    async def one_connection() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False,
                                 local_hostname="bench")
        await client.connect()
        for i in range(per):
            await client.sendmail(SENDER, [f"user{i}@example.org"], payload)
        await client.quit()

    started = time.monotonic()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    return per * connections / (time.monotonic() - started)


# --- the pipeline ---------------------------------------------------------------------------


def _setup_tenant(port: int) -> tuple:
    from doxie.brands.models import Brand, SmtpConfig
    from doxie.messaging.models import EmailTemplate
    from doxie.processes.models import Event
    from doxie.tenants import services
    from tests.helpers import make_api_caller

    tenant = services.create_tenant(slug="bench")
    brand = Brand.objects.create(
        tenant=tenant, name="Bench", slug="bench", possible_sender_emails=[SENDER],
        mail_provider="smtp", messages_per_second=100_000,
    )
    SmtpConfig.objects.create(tenant=tenant, brand=brand, address="127.0.0.1", port=port,
                              enable_starttls_auto=False, domain="bench.example")
    event = Event.objects.create(tenant=tenant, brand=brand, slug="welcome",
                                 parameters=[{"name": "emails", "required": True}])
    EmailTemplate.objects.create(
        tenant=tenant, event=event, name="Willkommensmail", sender=SENDER, sender_name="Bench",
        to="{{ emails|join(',') }}", subject="Willkommen {{ first_name }}",
        html="<p>Hallo {{ first_name }}, <a href='https://example.com/start'>los</a></p>",
    )
    return make_api_caller(tenant), brand


def _post(client, caller, emails: list[str]) -> float:
    started = time.monotonic()
    response = client.post(
        "/api/v1/bench/mailer/welcome", json.dumps({"emails": emails, "first_name": "Max"}),
        content_type="application/json", headers=caller.headers,
    )
    assert response.status_code == 200, response.content[:300]
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--per-request", type=int, default=200)
    parser.add_argument("--ceiling-messages", type=int, default=8_000)
    parser.add_argument("--workers", type=int, default=2, help="doxie worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="jobs per worker")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="doxie-bench-")
    _recreate_database()
    env = _env(data_dir)
    subprocess.run([sys.executable, "-m", "doxie.cli", "migrate", "-v", "0"], env=env,
                   check=True)
    os.environ.update(env)
    import django

    django.setup()
    from django.test import Client

    sink = Sink()
    workers: list[subprocess.Popen] = []
    try:
        ceilings = {c: asyncio.run(_bare_loop(sink.port.value, args.ceiling_messages, c))
                    for c in (1, 4)}
        ceiling = max(ceilings.values())
        baseline = sink.count
        caller, _brand = _setup_tenant(sink.port.value)
        workers = [
            subprocess.Popen([sys.executable, "-m", "doxie.cli", "worker", "--concurrency",
                              str(args.concurrency)], env=env)
            for _ in range(args.workers)
        ]
        client = Client()
        _post(client, caller, ["warmup@example.org"])  # worker up, adapters and pools warm
        if sink.wait_for(baseline + 1, 60) is None:
            raise SystemExit("the worker did not deliver the warm-up message")
        baseline += 1

        requests = args.messages // args.per_request
        total = requests * args.per_request
        latencies = []
        started = time.monotonic()
        for r in range(requests):
            emails = [f"u{r}-{i}@example.org" for i in range(args.per_request)]
            latencies.append(_post(client, caller, emails))
        accepted = time.monotonic()
        finished = sink.wait_for(baseline + total, 600)
        if finished is None:
            raise SystemExit(f"timeout: sink received {sink.count - baseline} of {total}")
        rate = total / (finished - started)
        latencies.sort()
        print(f"bare aiosmtplib ceiling: {ceilings[1]:8.0f} msg/s (1 connection), "
              f"{ceilings[4]:8.0f} msg/s (4 connections)")
        print(f"Mailer -> worker -> sink: {total} messages in {finished - started:.2f} s "
              f"= {rate:8.0f} msg/s ({rate / ceiling:.0%} of the best ceiling)")
        print(f"  accepting {requests} requests x {args.per_request} recipients took "
              f"{accepted - started:.2f} s ({total / (accepted - started):.0f} msg/s accepted; "
              f"request p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
              f"max {latencies[-1] * 1000:.0f} ms)")
        print(json.dumps({"ceiling_1": round(ceilings[1]), "ceiling_4": round(ceilings[4]),
                          "end_to_end": round(rate), "ratio": round(rate / ceiling, 3),
                          "messages": total}))
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)
        sink.close()
        from django.db import connections

        connections.close_all()
        _recreate_database(drop_only=True)


if __name__ == "__main__":
    main()
