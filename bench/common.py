"""Shared pieces of the bench and fault harness: database, processes, peers, load, set-up.

Why everything runs as separate processes: the figures must describe the service as it is
deployed (``doxie serve`` and ``doxie worker`` talking to PostgreSQL), and on a 2-core
machine a peer sharing the measured process's GIL would distort them. So the SMTP sink and
the webhook receiver are child processes of this file (``python bench/common.py sink|
receiver``), controlled over stdin/stdout with one JSON line per command; Django set-up and
emission run in a short-lived helper child (``python bench/common.py helper ACTION``), so the
harness itself never imports Django and can point at any database (the faults' throwaway
PostgreSQL included). The harness only speaks HTTP, SMTP and plain SQL (psycopg).
"""

from __future__ import annotations

import asyncio
import atexit
import io
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
PASSWORD = "Bench-Passw0rd!"
SENDER = "bench@bench.example"
TENANT, HOOKS_TENANT = "bench", "hooks"


# --- database -------------------------------------------------------------------------------


_embedded: list[Any] = []  # the pgserver handle, kept alive until the harness exits


def admin_url() -> str:
    """The server's maintenance database: DATABASE_URL as given, else a throwaway embedded
    PostgreSQL (pgserver, as ``doxie run`` uses) so a fresh clone needs no server."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    if not _embedded:
        _embedded.append(embedded_postgres())
    return _embedded[0].get_uri()


def embedded_postgres() -> Any:
    """A pgserver in a temporary folder, on a unix socket; deleted when this process exits."""
    if "XDG_RUNTIME_DIR" not in os.environ:
        os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="doxie-pg-run-")
        atexit.register(shutil.rmtree, os.environ["XDG_RUNTIME_DIR"], ignore_errors=True)
    import pgserver  # after XDG_RUNTIME_DIR: it picks its lock folder at import

    folder = Path(tempfile.mkdtemp(prefix="doxie-bench-pg-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # runs after pgserver's own
    return pgserver.get_server(str(folder / "pg"), cleanup_mode="delete")


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` (query string, e.g. ``?host=/socket``, kept)."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def sql(url: str, query: str, params: Any = None) -> list[tuple]:
    """One autocommit statement; rows (empty for statements without a result)."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


@dataclass
class BenchEnv:
    """One run's database and data folder (secrets, outbox) shared by all its children:
    the helper, ``doxie serve`` and ``doxie worker`` must agree on the encryption keys."""

    name: str
    admin: str
    url: str
    data_dir: str

    @property
    def env(self) -> dict[str, str]:
        return child_env(self.url, self.data_dir)

    def drop(self) -> None:
        sql(self.admin, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        shutil.rmtree(self.data_dir, ignore_errors=True)


def prepare(name: str, admin: str | None = None) -> BenchEnv:
    """Drop and create database ``name`` on the server of ``admin`` (a bench never inherits
    rows), migrate it with ``doxie migrate``; a fresh temporary data folder."""
    admin = admin or admin_url()
    sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    sql(admin, f'CREATE DATABASE "{name}"')
    bench = BenchEnv(name, admin, with_database(admin, name),
                     tempfile.mkdtemp(prefix=f"doxie-{name}-"))
    subprocess.run([PY, "-m", "doxie.cli", "migrate", "-v", "0"], env=bench.env, cwd=ROOT,
                   check=True)
    return bench


def child_env(db_url: str, data_dir: str, **extra: str) -> dict[str, str]:
    """Environment of every ``doxie`` child: the bench database, a throwaway data folder
    (secrets, outbox), private URLs allowed (the peers are on loopback), quiet logs."""
    return {
        **os.environ, "DATABASE_URL": db_url, "DOXIE_DATA_DIR": data_dir,
        "DJANGO_SETTINGS_MODULE": "doxie.settings", "DOXIE_ALLOW_PRIVATE_URLS": "1",
        "DOXIE_LOG_LEVEL": "WARNING", "DOXIE_PUBLIC_URL": "https://doxie.bench",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]), **extra,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def machine_info(db_url: str) -> dict[str, Any]:
    """What the figures mean nothing without: cores, memory, CPU, versions, load."""
    import psutil

    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {
        "nproc": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": model, "python": platform.python_version(), "os": platform.platform(),
        "postgresql": sql(db_url, "SHOW server_version")[0][0],
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# --- child processes ------------------------------------------------------------------------


class Child:
    """A child process with its own process group (kill -9 takes its whole tree)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        """(Re)start; stderr goes to a file (a pipe nobody reads would block the child)."""
        folder = Path(self.env.get("DOXIE_DATA_DIR") or tempfile.gettempdir())
        self.log = folder / f"{self.name}-{time.time_ns()}.log"
        with self.log.open("w") as handle:
            self.proc = subprocess.Popen(self.argv, env=self.env, cwd=ROOT,
                                         start_new_session=True, stdout=subprocess.DEVNULL,
                                         stderr=handle)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss(self) -> int:
        """Bytes resident in the process and its children (uvicorn's workers)."""
        import psutil

        try:
            root = psutil.Process(self.pid)
            return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
        except psutil.Error:
            return 0

    def cpu(self) -> float:
        """CPU seconds (user + system) used so far by the process and its children: a
        figure that, unlike rates, barely depends on what else the machine is doing."""
        import psutil

        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
            return sum(sum(p.cpu_times()[:2]) for p in procs)
        except psutil.Error:
            return 0.0

    def kill9(self) -> None:
        """SIGKILL to the whole group: no cleanup, no acknowledgement, like a lost machine."""
        if self.alive():
            os.killpg(self.pid, signal.SIGKILL)
            assert self.proc is not None
            self.proc.wait(10)

    def stop(self, timeout: float = 20) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        os.killpg(self.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()

    def stderr_tail(self, size: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-size:]
        except OSError:
            return ""


def serve(env: dict[str, str], port: int, workers: int = 2) -> Child:
    """``doxie serve`` on loopback, waited for until /healthz answers 200."""
    child = Child("web", [PY, "-m", "doxie.cli", "serve", "--port", str(port), "--workers",
                          str(workers)], env)
    wait_http(f"http://127.0.0.1:{port}/healthz", child)
    return child


def worker(env: dict[str, str], concurrency: int | None = None) -> Child:
    argv = [PY, "-m", "doxie.cli", "worker"]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    return Child("worker", argv, env)


def wait_http(url: str, child: Child | None = None, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and not child.alive():
            raise RuntimeError(f"{child.name} exited: {child.stderr_tail()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {timeout} s")


class RssSampler:
    """Peak resident memory of some children, sampled every ``interval`` s in a thread."""

    def __init__(self, children: list[Child], interval: float = 0.25) -> None:
        self.children, self.interval = children, interval
        self.peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for index, child in enumerate(self.children):
                key = f"{child.name}{index}" if child.name == "worker" else child.name
                self.peak[key] = max(self.peak.get(key, 0), child.rss())
            self._stop.wait(self.interval)

    def stop(self) -> dict[str, float]:
        """Peaks in MB."""
        self._stop.set()
        self._thread.join()
        return {key: round(value / 2**20, 1) for key, value in self.peak.items()}


class Profiler:
    """``py-spy record`` attached to a child's process tree until ``stop`` (SIGINT makes it
    write the speedscope file); a no-op with a note when py-spy is not installed. Samples
    only threads holding the GIL (CPU, not waiting) and never pauses the target."""

    def __init__(self, child: Child, out: Path, rate: int = 100) -> None:
        exe = Path(PY).with_name("py-spy")
        self.proc: subprocess.Popen | None = None
        if not exe.exists():
            print(f"(no py-spy in {exe.parent}: pip install py-spy to profile)")
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [str(exe), "record", "--pid", str(child.pid), "--subprocesses", "--gil",
             "--nonblocking", "--rate", str(rate),
             "--format", "speedscope", "--output", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# --- peers: controlled children speaking one JSON line per command ----------------------------


class Peer:
    """``python bench/common.py KIND --port P``; ``call`` sends a command, returns its answer."""

    def __init__(self, kind: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc = subprocess.Popen([PY, __file__, kind, "--port", str(self.port)], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.call("ping")

    def call(self, command: str, *args: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps([command, *args]) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"peer on port {self.port} died")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class SmtpSink(Peer):
    """aiosmtpd counting messages and their Message-IDs; ``down``/``up`` close and reopen the
    listening socket on the same port (counts survive: the outage is the network's)."""

    def __init__(self, port: int | None = None) -> None:
        super().__init__("sink", port)

    def stats(self) -> dict[str, int]:
        return self.call("stats")

    def wait_for(self, total: int, timeout: float, poll: float = 0.05) -> float | None:
        """Monotonic time at which ``total`` messages had arrived, None on timeout."""
        deadline = time.monotonic() + timeout
        while self.stats()["count"] < total:
            if time.monotonic() > deadline:
                return None
            time.sleep(poll)
        return time.monotonic()


class Receiver(Peer):
    """An HTTP receiver (uvicorn, raw ASGI): 200, or 500 for a configurable fraction of
    webhook requests; 2xx answers are counted per ``path webhook-id`` for lost/duplicate
    accounting."""

    def __init__(self, port: int | None = None) -> None:
        super().__init__("receiver", port)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _control_loop(handlers: dict[str, Callable[..., Any]], loop: asyncio.AbstractEventLoop
                  ) -> None:
    """stdin commands -> handlers run on the peer's loop -> one JSON line each on stdout."""
    for line in sys.stdin:
        command, *args = json.loads(line)
        future = asyncio.run_coroutine_threadsafe(handlers[command](*args), loop)
        sys.stdout.write(json.dumps(future.result()) + "\n")
        sys.stdout.flush()
    loop.call_soon_threadsafe(loop.stop)


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


_MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^>\r\n]+)>", re.MULTILINE | re.IGNORECASE)


def _run_sink(port: int) -> None:
    from aiosmtpd.smtp import SMTP

    ids: Counter[str] = Counter()
    state: dict[str, Any] = {"count": 0, "sample": b"", "server": None}
    sessions: set[asyncio.BaseTransport] = set()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            content = envelope.original_content or envelope.content or b""
            match = _MESSAGE_ID.search(content)
            ids[match.group(1).decode() if match else f"no-id-{state['count']}"] += 1
            state["count"] += 1
            state["sample"] = content
            return "250 2.0.0 queued"

    class Session(SMTP):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sessions.add(transport)
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            sessions.discard(self.transport)
            super().connection_lost(exc)

    loop = _new_loop()

    async def up() -> bool:
        if state["server"] is None:
            state["server"] = await loop.create_server(
                lambda: Session(Handler(), hostname="sink.bench"), "127.0.0.1", port,
                reuse_address=True)
        return True

    async def down() -> bool:
        if state["server"] is not None:
            state["server"].close()
            state["server"] = None
        for transport in list(sessions):
            transport.abort()  # the server went away: open sessions break mid-conversation
        return True

    async def stats() -> dict[str, int]:
        return {"count": state["count"], "unique": len(ids),
                "duplicates": state["count"] - len(ids)}

    async def all_ids() -> list[str]:
        return list(ids)

    async def sample() -> str:
        return state["sample"].decode("utf-8", "replace")

    async def ping() -> str:
        return "pong"

    loop.run_until_complete(up())
    handlers = {"up": up, "down": down, "stats": stats, "ids": all_ids, "sample": sample,
                "ping": ping}
    threading.Thread(target=_control_loop, args=(handlers, loop), daemon=True).start()
    loop.run_forever()


def _run_receiver(port: int) -> None:
    import hashlib

    import uvicorn

    ok: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    conf: dict[str, Any] = {"fraction": 0.0, "max_failures": 10**9, "requests": 0,
                            "answered_500": 0, "sample": None}

    def should_fail(key: str) -> bool:
        """Deterministic per (delivery, attempt): order of arrival does not change who fails;
        never more than ``max_failures`` times for one delivery."""
        if conf["fraction"] <= 0 or failed[key] >= conf["max_failures"]:
            return False
        digest = hashlib.blake2b(f"{key}#{failed[key] + ok[key]}".encode(), digest_size=8)
        return int.from_bytes(digest.digest()) / 2**64 < conf["fraction"]

    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = dict(scope["headers"])
        conf["requests"] += 1
        status = 200
        webhook_id = headers.get(b"webhook-id")
        if webhook_id is not None:
            key = f"{scope['path']} {webhook_id.decode()}"
            if should_fail(key):
                status = 500
                failed[key] += 1
                conf["answered_500"] += 1
            else:
                ok[key] += 1
            conf["sample"] = {"path": scope["path"], "body": body.decode(),
                              "headers": {k.decode(): v.decode() for k, v in headers.items()}}
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body",
                    "body": b'{"received":true}' if status == 200 else b'{"error":"bench"}'})

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",
                                           log_level="warning", access_log=False,
                                           http="httptools"))
    loop = _new_loop()

    async def fail(fraction: float, max_failures: int) -> bool:
        conf["fraction"], conf["max_failures"] = fraction, max_failures
        return True

    async def stats() -> dict[str, int]:
        delivered = sum(ok.values())
        return {"requests": conf["requests"], "answered_500": conf["answered_500"],
                "ok": delivered, "unique_ok": len(ok), "duplicates": delivered - len(ok)}

    async def all_ids() -> list[str]:
        return list(ok)

    async def sample() -> Any:
        return conf["sample"]

    async def ping() -> str:
        while not server.started:
            await asyncio.sleep(0.02)
        return "pong"

    loop.create_task(server.serve())
    handlers = {"fail": fail, "stats": stats, "ids": all_ids, "sample": sample, "ping": ping}
    threading.Thread(target=_control_loop, args=(handlers, loop), daemon=True).start()
    loop.run_forever()


# --- load generator ---------------------------------------------------------------------------


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # why status 0 (no HTTP answer)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        """Latency percentile in ms."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0

    def summary(self) -> dict[str, Any]:
        return {"requests": self.requests, "rps": round(self.rps, 1),
                "p50_ms": round(self.pct(0.50), 1), "p99_ms": round(self.pct(0.99), 1),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                **({"errors": dict(self.errors)} if self.errors else {})}


async def load(url: str, *, clients: int = 50, total: int | None = None,
               duration: float | None = None, method: str = "GET",
               headers: dict[str, str] | None = None,
               body_for: Callable[[int], Any] | None = None,
               on_response: Callable[[int, int, bytes], None] | None = None) -> LoadResult:
    """``clients`` keep-alive connections issuing requests back to back until ``total``
    requests were sent or ``duration`` seconds passed. Status 0 = no HTTP answer."""
    import httpx

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    result = LoadResult(0, 0.0)
    counter = iter(range(total if total is not None else 10**12))
    deadline = time.perf_counter() + (duration if duration is not None else 10**9)
    async with httpx.AsyncClient(timeout=30, limits=limits, headers=headers or {}) as client:

        async def one_client() -> None:
            for n in counter:
                if time.perf_counter() > deadline:
                    return
                started = time.perf_counter()
                try:
                    if method == "GET":
                        response = await client.get(url)
                    else:
                        body = json.dumps(body_for(n) if body_for else {})
                        response = await client.post(
                            url, content=body, headers={"Content-Type": "application/json"})
                    status, content = response.status_code, response.content
                except httpx.HTTPError as exc:
                    status, content = 0, b""
                    result.errors[type(exc).__name__] += 1
                result.latencies.append(time.perf_counter() - started)
                result.statuses[status] += 1
                result.requests += 1
                if on_response is not None:
                    on_response(n, status, content)

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        result.seconds = time.perf_counter() - started
    return result


def basic_auth(user: str = "bench", password: str = PASSWORD) -> dict[str, str]:
    import base64

    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# --- set-up through the real services (helper child with Django) ------------------------------


def helper(env: dict[str, str], action: str, **options: Any) -> Any:
    """Run ``action`` in a Django child against ``env``'s database; its JSON answer."""
    done = subprocess.run([PY, __file__, "helper", action, json.dumps(options)], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(f"helper {action} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


_CONFIG = """
consent_purposes:
  - slug: marketing
    name: Marketing
    brand: bench
    resend_throttle_seconds: 0
    doi_email_template:
      sender: {sender}
      subject: Bitte bestätigen
      html: "<p>Hallo {{{{ customer_id }}}}, <a href='{{{{ confirmation_url }}}}'>Jetzt bestätigen</a></p>"
events:
  - slug: welcome
    brand: bench
    parameters: [{{name: emails, required: true}}]
    email_templates:
      - name: Willkommensmail
        sender: {sender}
        sender_name: Bench
        to: "{{{{ emails|join(',') }}}}"
        subject: "Willkommen {{{{ first_name }}}}"
        html: "<p>Hallo {{{{ first_name }}}}, <a href='https://example.com/start'>los</a></p>"
"""  # noqa: E501


def _setup(smtp_port: int, rate: int, receiver_port: int | None = None,
           endpoints: int = 0) -> dict[str, Any]:
    """Tenant, API user, SMTP brand, event + consent purpose (``apply_config``) and, in a
    second tenant so email runs emit no webhooks, ``endpoints`` message_sent endpoints."""
    from django.core.management import call_command

    from doxie.brands.models import Brand
    from doxie.brands.services import create_brand
    from doxie.tenants import services as tenants
    from doxie.webhooks import services as webhooks

    tenant = tenants.create_tenant(slug=TENANT)
    tenants.create_api_user(tenant=tenant, username="bench", password=PASSWORD,
                            password_confirmation=PASSWORD)
    brand = create_brand(tenant=tenant, attributes={
        "name": "Bench", "slug": "bench", "possible_sender_emails": [SENDER],
        "mail_provider": "smtp", "smtp_config_attributes": {
            "address": "127.0.0.1", "port": smtp_port, "enable_starttls_auto": False,
            "domain": "bench.example"}})
    # The sending rate is an admin-UI field (not in the brand API): set it directly.
    Brand.objects.filter(pk=brand.pk).update(messages_per_second=rate)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        handle.write(_CONFIG.format(sender=SENDER))
    call_command("apply_config", TENANT, handle.name, stdout=io.StringIO())
    Path(handle.name).unlink()
    ids: list[int] = []
    if endpoints:
        hooks = tenants.create_tenant(slug=HOOKS_TENANT)
        ids = [webhooks.create_endpoint(
            tenant=hooks, type="Webhook::MessageSentEndpoint",
            url=f"http://127.0.0.1:{receiver_port}/ep{i}")[0].id for i in range(endpoints)]
    return {"brand_id": brand.pk, "endpoint_ids": ids}


#: The fields of a ``webhooks.events.MessageSent`` (the timestamp is added in ``_emit``).
SAMPLE_EVENT = {
    "process_id": "123e4567-e89b-12d3-a456-426614174000", "message_type": "email",
    "message_id": 1234567890, "recipient_specific_message_ids": ("1234567890",),
    "recipient": "john.doe@example.com", "subject": "Willkommen Max", "text": "Hallo Max",
    "html": "<p>Hallo Max, <a href='https://example.com/start'>los</a></p>",
    "original_brand_slug": "bench", "original_tenant_slug": HOOKS_TENANT,
    "original_event_slug": "welcome",
}


def _emit(events: int, chunk: int = 100) -> dict[str, Any]:
    """``events`` message_sent events for the hooks tenant (one row per endpoint each),
    ``chunk`` events per transaction, as the drainer emits them for a sent batch."""
    from datetime import UTC, datetime

    from django.db import transaction

    from doxie.tenants.models import Tenant
    from doxie.webhooks.events import MessageSent
    from doxie.webhooks.services import emit_many

    tenant = Tenant.objects.get(slug=HOOKS_TENANT)
    at = datetime(2025, 1, 1, tzinfo=UTC)
    rows = 0
    started_at, started = time.time(), time.perf_counter()
    for first in range(0, events, chunk):
        batch = [MessageSent(**{**SAMPLE_EVENT, "message_id": n}, timestamp=at)
                 for n in range(first, min(events, first + chunk))]
        with transaction.atomic():
            rows += emit_many(tenant=tenant, events=batch)
    return {"rows": rows, "seconds": time.perf_counter() - started, "started_at": started_at}


def _wake() -> dict[str, Any]:
    """What the minute's sweeps do (release dead leases, wake drainers of due rows), now."""
    from doxie.messaging import tasks as messaging
    from doxie.webhooks import tasks as webhooks

    return {"messaging": messaging.sweep(), "webhooks": webhooks.sweep()}


def _helper_main(action: str, options: dict[str, Any]) -> None:
    import django

    django.setup()
    actions = {"setup": _setup, "emit": _emit, "wake": _wake}
    print(json.dumps(actions[action](**options)))


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "helper":
        _helper_main(sys.argv[2], json.loads(sys.argv[3]))
    elif kind in ("sink", "receiver"):
        port_arg = int(sys.argv[sys.argv.index("--port") + 1])
        (_run_sink if kind == "sink" else _run_receiver)(port_arg)
    else:
        raise SystemExit("usage: common.py sink|receiver --port P | helper ACTION JSON")
