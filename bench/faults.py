"""Doxie's fault harness: break one thing at a time under load and count what was lost.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/faults.py
    .venv/bin/python bench/faults.py --short                  # every scenario, under 5 minutes
    .venv/bin/python bench/faults.py kill_worker sink_down    # chosen scenarios only

Scenarios (each prints lost / duplicated counts and PASS or FAIL; exit status 1 on a FAIL):

* ``kill_worker`` — ``kill -9`` the worker (its whole process group) during a Mailer burst
  (``--messages``, 50 000), restart it. Every accepted message must reach the sink; only
  rows the dead worker had claimed (at most one batch per drainer it ran) may arrive twice.
* ``sink_down`` — the SMTP sink stops listening (open sessions cut) for ``--outage`` seconds
  (60) during a burst. Everything arrives after it returns; no message is marked failed.
* ``receiver_500`` — the webhook receiver answers 500 to 30 % of requests. Every event is
  delivered and every attempt is in the interaction log.
* ``pg_restart`` — a throwaway PostgreSQL (pgserver, unix socket) is stopped for a few
  seconds and started again under API load. During the outage answers are 503, never 500;
  the service recovers by itself; every request answered 2xx is in the database.
* ``sigterm`` — SIGTERM the worker during a Mailer burst: it must exit within
  ``DOXIE_SHUTDOWN_GRACE_SECONDS`` (+5 s) leaving no row claimed and no drainer lease held
  (runs hand over at their batch boundary), and after a restart every message arrives
  exactly once: 0 lost, 0 duplicated — no waiting for a lease to expire.
* ``contract`` — ``pytest tests/contract`` (schemathesis over the served OpenAPI).

Where the harness speeds time up, it says so: ``--short`` (and ``--fast-lease``) expires the
killed worker's leases in the database instead of waiting the ~200 s they are granted for,
and ``receiver_500`` moves ``next_attempt_at`` of waiting retries to now between drain rounds,
because the Standard Webhooks schedule (5 s, 5 min, 30 min, …) is fixed in
``webhooks/delivery.py`` with no setting to shorten it. Each then runs the sweeps at once
(``helper wake``) instead of waiting for the minute's periodic run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
BATCH = 200  # DOXIE_MESSAGING_BATCH_SIZE's default: the claim size of one drainer run


class Stack:
    """A fresh database, the SMTP sink, the set-up, ``doxie serve`` and one worker."""

    def __init__(self, name: str, *, endpoints: int = 0, admin: str | None = None,
                 worker: bool = True) -> None:
        self.bench = common.prepare(name, admin)
        self.sink, self.receiver = common.SmtpSink(), common.Receiver()
        common.helper(self.bench.env, "setup", smtp_port=self.sink.port, rate=100_000,
                      receiver_port=self.receiver.port, endpoints=endpoints)
        self.port = common.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.web = common.serve(self.bench.env, self.port)
        self.worker = common.worker(self.bench.env) if worker else None

    def q(self, query: str, params: Any = None) -> list[tuple]:
        return common.sql(self.bench.url, query, params)

    def close(self) -> None:
        for child in (self.worker, self.web):
            if child is not None:
                child.stop()
        self.sink.close()
        self.receiver.close()
        self.bench.drop()


def burst(stack: Stack, messages: int, per_request: int = 200) -> threading.Thread:
    """Mailer requests of ``per_request`` recipients (4 clients) in a background thread."""
    def body(n: int) -> dict[str, Any]:
        return {"emails": [f"f{n}-{i}@example.org" for i in range(per_request)],
                "first_name": "Max"}

    def run() -> None:
        asyncio.run(common.load(f"{stack.base}/api/v1/bench/mailer/welcome", clients=4,
                                total=messages // per_request, method="POST",
                                headers=common.basic_auth(), body_for=body))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait_until(check: Callable[[], bool], timeout: float, poll: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


def email_accounting(stack: Stack) -> dict[str, Any]:
    """Accepted (rows in the database) against received (Message-IDs at the sink)."""
    accepted = {str(r[0]) for r in stack.q("SELECT public_id FROM messaging_message")}
    received = Counter(i.split("@", 1)[0] for i in stack.sink.call("ids"))
    count = stack.sink.stats()["count"]
    statuses = dict(stack.q("SELECT status, count(*) FROM messaging_message GROUP BY 1"))
    return {"accepted": len(accepted), "received": count,
            "lost": len(accepted - set(received)), "duplicated": count - len(received),
            "statuses": statuses}


def all_sent(stack: Stack) -> bool:
    return not stack.q("SELECT 1 FROM messaging_message "
                       "WHERE status IN ('queued', 'sending') LIMIT 1")


# --- scenarios ------------------------------------------------------------------------------


def kill_worker(args: argparse.Namespace) -> dict[str, Any]:
    stack = Stack("doxie_faults_kill")
    try:
        thread = burst(stack, args.messages)
        at = max(1, args.messages // 4)
        wait_until(lambda: stack.sink.stats()["count"] >= at, timeout=600, poll=0.05)
        assert stack.worker is not None
        stack.worker.kill9()
        killed_at = time.monotonic()
        in_flight = stack.q("SELECT count(*) FROM messaging_message "
                            "WHERE status = 'sending'")[0][0]
        drainers = stack.q("SELECT count(*) FROM messaging_drainerlease "
                           "WHERE expires_at > now()")[0][0]
        print(f"  killed the worker at {stack.sink.stats()['count']} received; "
              f"{in_flight} rows claimed by it ({drainers} drainer runs)", flush=True)
        if args.fast_lease:  # the dead worker's leases only: nothing else holds one now
            stack.q("UPDATE messaging_message SET claimed_until = now() "
                    "WHERE status = 'sending'")
            stack.q("UPDATE messaging_drainerlease SET expires_at = now() "
                    "WHERE expires_at > now()")
        stack.worker.start()
        thread.join()
        if args.fast_lease:
            common.helper(stack.bench.env, "wake")
        done = wait_until(lambda: all_sent(stack), timeout=900, poll=1)
        recovered = time.monotonic() - killed_at
        result = email_accounting(stack)
        result.update(in_flight_at_kill=in_flight, drainers_at_kill=drainers,
                      recovery_seconds=round(recovered, 1), fast_lease=args.fast_lease)
        result["pass"] = bool(done and result["lost"] == 0
                              and result["duplicated"] <= in_flight
                              and result["accepted"] == args.messages)
        result["criterion"] = ("lost = 0; duplicates ≤ rows the killed worker had claimed "
                               f"(≤ {BATCH} per drainer run it held)")
        return result
    finally:
        stack.close()


def sigterm(args: argparse.Namespace) -> dict[str, Any]:
    grace = 20
    stack = Stack("doxie_faults_sigterm", worker=False)
    try:
        stack.bench.env["DOXIE_SHUTDOWN_GRACE_SECONDS"] = str(grace)
        stack.worker = common.worker(stack.bench.env)
        thread = burst(stack, args.messages)
        at = max(1, args.messages // 4)
        wait_until(lambda: stack.sink.stats()["count"] >= at, timeout=600, poll=0.05)
        started = time.monotonic()
        stack.worker.stop(timeout=grace + 30)
        stop_seconds = time.monotonic() - started
        claimed = stack.q("SELECT count(*) FROM messaging_message "
                          "WHERE status = 'sending'")[0][0]
        leases = stack.q("SELECT count(*) FROM messaging_drainerlease "
                         "WHERE expires_at > now()")[0][0]
        print(f"  SIGTERM at {stack.sink.stats()['count']} received: stopped in "
              f"{stop_seconds:.1f} s, {claimed} rows and {leases} leases left claimed",
              flush=True)
        stack.worker.start()
        thread.join()
        done = wait_until(lambda: all_sent(stack), timeout=900, poll=1)
        result = email_accounting(stack)
        result.update(stop_seconds=round(stop_seconds, 1), grace_seconds=grace,
                      claimed_after_stop=claimed, leases_after_stop=leases)
        result["pass"] = bool(done and result["lost"] == 0 and result["duplicated"] == 0
                              and claimed == 0 and leases == 0
                              and stop_seconds <= grace + 5
                              and result["accepted"] == args.messages)
        result["criterion"] = (f"worker exits within {grace} + 5 s with nothing claimed; "
                               "lost = 0; duplicated = 0")
        return result
    finally:
        stack.close()


def sink_down(args: argparse.Namespace) -> dict[str, Any]:
    stack = Stack("doxie_faults_sink")
    try:
        thread = burst(stack, args.messages)
        at = max(1, args.messages // 5)
        wait_until(lambda: stack.sink.stats()["count"] >= at, timeout=600, poll=0.05)
        stack.sink.call("down")
        print(f"  sink down at {stack.sink.stats()['count']} received, for {args.outage} s",
              flush=True)
        time.sleep(args.outage)
        stack.sink.call("up")
        came_back = time.monotonic()
        thread.join()
        done = wait_until(lambda: all_sent(stack), timeout=600, poll=1)
        result = email_accounting(stack)
        retries = stack.q("SELECT coalesce(sum(attempts - 1), 0), coalesce(max(attempts), 0) "
                          "FROM messaging_message")[0]
        result.update(outage_seconds=args.outage, retries=int(retries[0]),
                      max_attempts=int(retries[1]),
                      drained_after_return_seconds=round(time.monotonic() - came_back, 1))
        failed = result["statuses"].get("failed", 0)
        result["pass"] = bool(done and result["lost"] == 0 and failed == 0
                              and result["accepted"] == args.messages)
        result["criterion"] = "lost = 0; no message failed"
        return result
    finally:
        stack.close()


def receiver_500(args: argparse.Namespace) -> dict[str, Any]:
    stack = Stack("doxie_faults_hooks", endpoints=args.endpoints)
    try:
        stack.receiver.call("fail", 0.3, 4)
        emitted = common.helper(stack.bench.env, "emit", events=args.events)
        rounds = 0
        deadline = time.monotonic() + 600
        while stack.q("SELECT 1 FROM webhooks_webhookinteraction "
                      "WHERE status IN ('pending', 'delivering') LIMIT 1"):
            if time.monotonic() > deadline:
                break
            time.sleep(args.round_seconds)
            # Time travel, documented: waiting retries fall due now instead of in 5 min+.
            stack.q("UPDATE webhooks_webhookinteraction SET next_attempt_at = now() "
                    "WHERE status = 'pending' AND next_attempt_at > now()")
            common.helper(stack.bench.env, "wake")
            rounds += 1
        rows = stack.q("SELECT e.url, i.event_id, i.status, i.attempt_count, i.retry_count, "
                       "jsonb_array_length(i.attempts) FROM webhooks_webhookinteraction i "
                       "JOIN webhooks_webhookendpoint e ON e.id = i.endpoint_id")
        expected = {f"{urlsplit(url).path} {event_id}" for url, event_id, *_ in rows}
        received = set(stack.receiver.call("ids"))
        stats = stack.receiver.call("stats")
        statuses = Counter(r[2] for r in rows)
        attempts = sum(r[3] for r in rows)
        result = {
            "deliveries": emitted["rows"], "lost": len(expected - received),
            "duplicated": stats["duplicates"], "statuses": dict(statuses),
            "receiver_requests": stats["requests"], "answered_500": stats["answered_500"],
            "logged_attempts": attempts, "logged_retries": sum(r[4] for r in rows),
            "attempt_histogram": dict(sorted(Counter(r[3] for r in rows).items())),
            "log_entries_match": all(r[3] == r[5] for r in rows), "advance_rounds": rounds,
        }
        result["pass"] = bool(result["lost"] == 0 and statuses.get("failed", 0) == 0
                              and attempts == stats["requests"]
                              and result["logged_retries"] == stats["answered_500"]
                              and result["log_entries_match"])
        result["criterion"] = ("lost = 0, none failed; the log's attempts = requests the "
                               "receiver saw, its retries = the 500s it answered")
        return result
    finally:
        stack.close()


def pg_restart(args: argparse.Namespace) -> dict[str, Any]:
    """API load against a PostgreSQL we may stop: statuses over time and what was kept."""
    server = common.embedded_postgres()
    from pgserver._commands import pg_ctl  # after embedded_postgres() set XDG_RUNTIME_DIR

    pgdata = Path(server.pgdata)
    admin = server.get_uri()
    socket_dir = urlsplit(admin).query.split("host=", 1)[1]
    stack = Stack("doxie_faults_pg", admin=admin, worker=False)
    timeline: list[tuple[float, int]] = []
    kept: dict[str, float] = {}  # process_uuid answered 2xx -> when the answer came
    started = time.monotonic()

    odd: list[str] = []  # bodies of answers other than 2xx and 503

    def on_response(n: int, status: int, content: bytes) -> None:
        timeline.append((time.monotonic() - started, status))
        if status not in (503,) and not 200 <= status < 300 and len(odd) < 5:
            odd.append(f"{status}: {content[:300]!r}")
        if 200 <= status < 300:
            kept[json.loads(content)["process_uuid"]] = time.monotonic() - started

    def body(n: int) -> dict[str, Any]:
        return {"emails": [f"pg{n}@example.org"], "first_name": "Max"}

    load_seconds = args.pg_before + args.pg_outage + args.pg_after
    thread = threading.Thread(target=lambda: asyncio.run(common.load(
        f"{stack.base}/api/v1/bench/mailer/welcome", clients=20, duration=load_seconds,
        method="POST", headers=common.basic_auth(), body_for=body,
        on_response=on_response)), daemon=True)
    try:
        thread.start()
        time.sleep(args.pg_before)
        down_at = time.monotonic() - started
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user)
        time.sleep(args.pg_outage)
        pg_ctl(["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(pgdata / "log"),
                "start"], pgdata=pgdata, user=server.system_user)
        up_at = time.monotonic() - started
        thread.join()
        found = {r[0] for r in stack.q("SELECT uuid::text FROM messaging_process "
                                        "WHERE uuid::text = ANY(%s)", [list(kept)])}
        missing = {u: round(t - down_at, 2) for u, t in kept.items() if u not in found}
        during = Counter(s for t, s in timeline if down_at <= t < up_at)
        after = [(t, s) for t, s in timeline if t >= up_at]
        first_ok = next((t - up_at for t, s in after if 200 <= s < 300), None)
        tail = [s for t, s in after if t >= up_at + args.pg_after / 2]
        result = {
            "statuses": dict(Counter(s for _, s in timeline)),
            "during_outage": dict(during), "answered_2xx": len(kept),
            "lost": len(missing), "duplicated": 0,
            "missing_answered_at_s_after_stop": dict(list(missing.items())[:10]),
            "other_answers": odd, "web_log_tail": stack.web.stderr_tail(3000) if odd else "",
            "recovered_after_seconds": None if first_ok is None else round(first_ok, 2),
            "outage_seconds": round(up_at - down_at, 1),
        }
        bad = [s for s in Counter(s for _, s in timeline) if s >= 500 and s != 503 or s == 0]
        result["pass"] = bool(not bad and result["lost"] == 0 and first_ok is not None
                              and tail and all(200 <= s < 300 for s in tail))
        result["criterion"] = ("no 500 and no unanswered request; the second half after the "
                               "restart all 2xx; every 2xx process in the database")
        return result
    finally:
        thread.join(timeout=load_seconds + 30)
        stack.close()
        server.cleanup()


def contract(args: argparse.Namespace) -> dict[str, Any]:
    """The schemathesis suite, on its own test database (other suites may be running)."""
    import xml.etree.ElementTree as ET  # noqa: N817

    env = {**os.environ, "DATABASE_URL": common.admin_url(),
           "DOXIE_TEST_DB_NAME": "doxie_test_faults_contract"}
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="doxie-contract-") as folder:
        report = Path(folder) / "junit.xml"
        done = subprocess.run(
            [common.PY, "-m", "pytest", "tests/contract", f"--junitxml={report}"],
            cwd=common.ROOT, env=env, capture_output=True, text=True, timeout=900)
        if report.exists():
            suite = ET.parse(report).getroot()
            suite = suite if suite.tag == "testsuite" else suite[0]
            counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    failing = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
    return {**counts, "failing": failing[:20], "lost": 0, "duplicated": 0,
            "output_tail": "" if done.returncode == 0 else done.stdout[-1500:],
            "pass": done.returncode == 0 and counts.get("tests", 0) > 0,
            "criterion": "pytest exit status 0 (no 5xx, responses match the schema)"}


SCENARIOS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "kill_worker": kill_worker, "sigterm": sigterm, "sink_down": sink_down,
    "receiver_500": receiver_500, "pg_restart": pg_restart, "contract": contract,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                        help=f"any of {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--short", action="store_true", help="small counts, under 5 minutes")
    parser.add_argument("--messages", type=int, help="burst size (50 000; short: 5 000)")
    parser.add_argument("--outage", type=float, help="sink outage in s (60; short: 15)")
    parser.add_argument("--events", type=int, help="webhook events (1 000; short: 200)")
    parser.add_argument("--endpoints", type=int, default=None, help="(10; short: 2)")
    parser.add_argument("--fast-lease", action="store_true",
                        help="expire the killed worker's leases at once (implied by --short)")
    args = parser.parse_args()
    args.messages = args.messages or (5_000 if args.short else 50_000)
    args.outage = args.outage if args.outage is not None else (15 if args.short else 60)
    args.events = args.events or (200 if args.short else 1_000)
    args.endpoints = args.endpoints or (2 if args.short else 10)
    args.fast_lease = args.fast_lease or args.short
    args.round_seconds = 5 if args.short else 10
    args.pg_before, args.pg_outage, args.pg_after = (5, 5, 10) if args.short else (10, 10, 20)
    chosen = args.scenarios or list(SCENARIOS)
    if unknown := [name for name in chosen if name not in SCENARIOS]:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    results: dict[str, Any] = {}
    for name in chosen:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            results[name] = SCENARIOS[name](args)
        except Exception as exc:  # noqa: BLE001 - a scenario that cannot run is a FAIL, said why
            results[name] = {"pass": False, "error": f"{type(exc).__name__}: {exc}"}
        results[name]["seconds"] = round(time.monotonic() - started, 1)
        r = results[name]
        print(f"  lost {r.get('lost', '?')}, duplicated {r.get('duplicated', '?')}: "
              f"{'PASS' if r['pass'] else 'FAIL'}  {json.dumps(r)}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = {"mode": "short" if args.short else "full", "when": time.strftime("%Y-%m-%d %H:%M"),
           "loadavg": [round(x, 2) for x in os.getloadavg()], "results": results}
    (RESULTS / "faults.json").write_text(json.dumps(out, indent=2))
    print("\n| scenario | lost | duplicated | result | seconds |\n|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r.get('lost', '?')} | {r.get('duplicated', '?')} | "
              f"{'PASS' if r['pass'] else 'FAIL'} | {r['seconds']} |")
    sys.exit(0 if all(r["pass"] for r in results.values()) else 1)


if __name__ == "__main__":
    main()
