"""Consent initiation (P1) throughput and latency, and DOI emails end to end.

Not a test: prints figures, never fails on time. Everything runs for real on loopback:
``doxie serve`` (uvicorn) answering HTTP, ``doxie worker`` draining the queue through the
brand's SMTP adapter into an aiosmtpd sink (a separate process, so its GIL does not compete
with the code measured), PostgreSQL at DATABASE_URL in its own database.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python \
        bench/consents_bench.py [--requests 5000] [--clients 50] [--web-workers 2]

Figures (DESIGN.md asks for ratios against the machine's own ceiling in the same run):

* the same server stack on trivial endpoints (``/healthz``; ``whoami`` = Basic auth + one
  query), then P1 at the same concurrency: requests/s, p50 and p99;
* DOI emails/s: the P1 backlog drained by one worker into the sink (queue → SMTP), and a
  live run with the worker running during the load (API accepted → SMTP received).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

PASSWORD = "Bench-Passw0rd!"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bench_database() -> str:
    """A fresh dedicated database (dropped and re-created: the ledger cannot be emptied)."""
    import psycopg

    url = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    parts = urlsplit(url)
    name = (parts.path.lstrip("/") or "postgres") + "_consents_bench"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    bench_url = urlunsplit(parts._replace(path="/" + name))
    os.environ["DATABASE_URL"] = bench_url
    return bench_url


# --- SMTP sink (child process) -----------------------------------------------------------------


def _sink(port: int, counter, ready) -> None:  # noqa: ANN001 - multiprocessing primitives
    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
            with counter.get_lock():
                counter.value += 1
            return "250 2.0.0 queued"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    while True:  # until the parent terminates us
        time.sleep(3600)


# --- HTTP load ----------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def _load(url: str, total: int, clients: int, *, method: str = "GET", auth: str = "",
                body_for=None) -> dict:
    import httpx

    headers = {"Authorization": auth} if auth else {}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(range(total))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits, headers=headers) as client:

        async def worker() -> None:
            for n in queue:
                started = time.perf_counter()
                try:
                    if method == "GET":
                        response = await client.get(url)
                    else:
                        response = await client.post(url, json=body_for(n))
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0  # connection-level failure, counted but not fatal
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "rps": total / elapsed, "p50": _pct(latencies, 0.50), "p99": _pct(latencies, 0.99),
        "mean": statistics.fmean(latencies) * 1000, "statuses": statuses, "elapsed": elapsed,
    }


def _report(name: str, result: dict) -> None:
    print(f"{name:<34} {result['rps']:8.0f} req/s   p50 {result['p50']:6.1f} ms   "
          f"p99 {result['p99']:6.1f} ms   statuses {result['statuses']}")


# --- set-up -------------------------------------------------------------------------------------


def _prepare(smtp_port: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doxie.settings")
    django.setup()
    from django.core.management import call_command

    from doxie.brands.models import Brand, SmtpConfig
    from doxie.consents.models import ConsentPurpose
    from doxie.tenants import services

    call_command("migrate", verbosity=0)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request
    tenant = services.create_tenant(slug="bench")
    services.create_api_user(tenant=tenant, username="bench", password=PASSWORD,
                             password_confirmation=PASSWORD)
    brand = Brand.objects.create(tenant=tenant, name="Bench", slug="bench", mail_provider="smtp",
                                 messages_per_second=100_000)
    SmtpConfig.objects.create(tenant=tenant, brand=brand, address="127.0.0.1", port=smtp_port,
                              enable_starttls_auto=False)
    ConsentPurpose.objects.create(
        tenant=tenant, brand=brand, slug="marketing", name="Marketing",
        doi_email_sender="noreply@bench.example", doi_email_subject="Bitte bestätigen",
        doi_email_html="<p>Hallo {{ customer_id }}, <a href='{{ confirmation_url }}'>"
        "Jetzt bestätigen</a></p>",
        resend_throttle_seconds=0,
    )


LOG_DIR = Path(os.environ.get("TMPDIR", "/tmp"))


def _spawn(*args: str, env: dict[str, str]) -> subprocess.Popen:
    """A ``doxie`` child process; its stderr goes to a log file (a pipe could fill up)."""
    log = open(LOG_DIR / f"consents_bench_{args[0]}.log", "w")  # noqa: SIM115
    return subprocess.Popen([sys.executable, "-m", "doxie.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log, text=True)


def _wait_http(url: str, proc: subprocess.Popen) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"doxie serve exited; see {LOG_DIR}/consents_bench_serve.log")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("doxie serve did not start")


def _wait_count(counter, target: int, timeout: float = 600) -> float:  # noqa: ANN001
    started = time.perf_counter()
    while counter.value < target and time.perf_counter() - started < timeout:
        time.sleep(0.02)
    return time.perf_counter() - started


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--web-workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()

    bench_url = _bench_database()
    smtp_port, http_port = _free_port(), _free_port()
    counter, ready = multiprocessing.Value("i", 0), multiprocessing.Event()
    sink = multiprocessing.Process(target=_sink, args=(smtp_port, counter, ready), daemon=True)
    sink.start()
    ready.wait(10)
    _prepare(smtp_port)

    base = f"http://127.0.0.1:{http_port}"
    env = {**os.environ, "DATABASE_URL": bench_url, "DOXIE_PUBLIC_URL": "https://doxie.bench",
           "DOXIE_LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "doxie.settings"}
    server = _spawn("serve", "--port", str(http_port), "--workers", str(args.web_workers),
                    env=env)
    worker = None
    try:
        _wait_http(f"{base}/healthz", server)
        auth = "Basic " + base64.b64encode(f"bench:{PASSWORD}".encode()).decode()
        n, c = args.requests, args.clients
        print(f"{n} requests per run, {c} concurrent clients, {args.web_workers} web workers, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start\n")
        asyncio.run(_load(f"{base}/healthz", 200, c))  # warm-up
        asyncio.run(_load(f"{base}/api/v1/bench/whoami", 200, c, auth=auth))
        _report("GET /healthz (ceiling)", asyncio.run(_load(f"{base}/healthz", n, c)))
        whoami = asyncio.run(_load(f"{base}/api/v1/bench/whoami", n, c, auth=auth))
        _report("GET whoami (auth + 1 query)", whoami)

        initiate = f"{base}/api/v1/bench/mpm/consents/initiate"

        def body(prefix: str):
            return lambda i: {"customer_id": f"{prefix}-{i}", "consent_slug": "marketing",
                              "email": f"{prefix}-{i}@example.com"}

        p1 = asyncio.run(_load(initiate, n, c, method="POST", auth=auth, body_for=body("a")))
        _report("POST P1 initiate (email)", p1)
        print(f"{'  P1 / whoami':<34} {100 * p1['rps'] / whoami['rps']:8.0f} %")

        # Backlog: one worker drains the n queued DOI emails into the sink.
        worker = _spawn("worker", env=env)
        drained = _wait_count(counter, n)
        print(f"\n{'DOI backlog → SMTP (1 worker)':<34} {counter.value / drained:8.0f} emails/s"
              f"   ({counter.value} in {drained:.1f} s)")

        # Live: the worker runs while P1 load arrives; API accepted → SMTP received.
        before = counter.value
        started = time.perf_counter()
        live = asyncio.run(_load(initiate, n, c, method="POST", auth=auth, body_for=body("b")))
        _wait_count(counter, before + live["statuses"].get(200, 0))
        e2e = time.perf_counter() - started
        _report("POST P1 with worker running", live)
        print(f"{'DOI end to end (API → SMTP)':<34} {(counter.value - before) / e2e:8.0f} "
              f"emails/s   ({counter.value - before} in {e2e:.1f} s)")
    finally:
        if worker is not None:
            _stop(worker)
        _stop(server)
        sink.terminate()

    from doxie.consents import ledger
    from doxie.tenants.models import Tenant

    started = time.perf_counter()
    result = ledger.verify(Tenant.objects.get(slug="bench").id)
    print(f"\nledger verify: ok={result.ok}, {result.count} entries in "
          f"{time.perf_counter() - started:.1f} s")
    print(f"load average {os.getloadavg()[0]:.1f} at the end (other work on the machine "
          "distorts every figure above)")
    print(f"server and worker logs: {LOG_DIR}/consents_bench_{{serve,worker}}.log")


if __name__ == "__main__":
    main()
