"""Journey engine throughput: N runs due at once, each a `wait: 1s` then a `send` into the
SMTP sink, through real `doxie worker` children. Not a test: prints figures, never fails.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python \
        bench/journeys_bench.py [--runs 50000] [--workers 2]

Figures: steps/s through the engine (two steps per run: the wait's end and the send), the
email end-to-end rate of the same run (first wait started -> sink's last message), the delay
between each wait's due time and the step that ended it (p50/p99), peak worker RSS.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench import common  # noqa: E402

DB_NAME = "doxie_bench_journeys"


def _inject(runs: int) -> dict[str, Any]:
    """An injector event with a `wait: 1s` + `send` journey and ``runs`` runs due now."""
    from django.db import transaction
    from django.utils import timezone

    from doxie.journeys import definition as d
    from doxie.journeys import services
    from doxie.journeys.engine import QUEUE
    from doxie.journeys.models import JourneyRun
    from doxie.messaging.models import EmailTemplate
    from doxie.processes.models import Event, Process
    from doxie.tenants.models import Tenant

    tenant = Tenant.objects.get(slug=common.TENANT)
    mailer = Event.objects.get(tenant=tenant, slug="welcome")
    event = Event.objects.create(tenant=tenant, brand=mailer.brand, slug="journey",
                                 kind="injector", parameters=[{"name": "email"}])
    EmailTemplate.objects.create(tenant=tenant, event=event, name="hello",
                                 sender=common.SENDER, to="{{ email }}", subject="Hallo",
                                 html="<p>Hallo</p>", track_links=False)
    compiled, problems = d.compile_journey({"steps": [{"wait": "1s"}, {"send": "hello"}]},
                                           d.Templates(email={"hello"}))
    assert compiled is not None, problems
    version, _ = services.publish_version(tenant=tenant, event=event, compiled=compiled)
    now = timezone.now()
    for first in range(0, runs, 5000):
        with transaction.atomic():
            size = min(5000, runs - first)
            processes = Process.objects.bulk_create([
                Process(tenant=tenant, kind="injector", event=event,
                        original_payload={"email": f"c{first + i}@bench.example"})
                for i in range(size)])
            JourneyRun.objects.bulk_create([
                JourneyRun(tenant=tenant, process=p, version=version, event=event,
                           contact_key=str(p.uuid), wake_at=now) for p in processes])
    with transaction.atomic():
        QUEUE.wake([(tenant.id, now)])
    return {"tenant_id": tenant.id}


def _delays() -> dict[str, Any]:
    """Due -> start of the step after each wait (the wait's end), in ms, from run paths."""
    from datetime import datetime, timedelta

    from doxie.journeys.models import JourneyRun

    delays = []
    starts = []
    for history in JourneyRun.objects.values_list("history", flat=True).iterator(2000):
        if not history or "due" not in history[0]:
            continue
        due = datetime.fromisoformat(history[0]["due"].replace("Z", "+00:00"))
        ended = datetime.fromisoformat(history[0]["at"].replace("Z", "+00:00"))
        starts.append((due - timedelta(seconds=1)).timestamp())
        delays.append((ended - due).total_seconds() * 1000)
    delays.sort()

    def pct(p: float) -> float:
        return round(delays[min(len(delays) - 1, int(len(delays) * p))], 1) if delays else 0

    return {"runs": len(delays), "p50_ms": pct(0.5), "p99_ms": pct(0.99),
            "max_ms": round(delays[-1], 1) if delays else 0,
            "first_start": min(starts) if starts else 0}


def helper(env: dict[str, str], action: str, **options: Any) -> Any:
    done = subprocess.run([common.PY, __file__, "helper", action, json.dumps(options)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if done.returncode:
        raise RuntimeError(f"helper {action} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=int, default=100_000)
    args = parser.parse_args()
    bench = common.prepare(DB_NAME)
    sink = common.SmtpSink()
    workers: list[common.Child] = []
    try:
        common.helper(bench.env, "setup", smtp_port=sink.port, rate=args.rate)
        helper(bench.env, "inject", runs=args.runs)
        started = time.time()
        workers = [common.worker(bench.env) for _ in range(args.workers)]
        rss = common.RssSampler(workers)
        done_at = sink.wait_for(args.runs, timeout=1800)
        finished = time.time()
        peaks = rss.stop()
        delays = helper(bench.env, "delays")
        first = delays.pop("first_start") or started
        elapsed = finished - first if done_at else None
        print(json.dumps({
            "runs": args.runs, "workers": args.workers,
            "received": sink.stats()["count"],
            "seconds_first_step_to_last_mail": round(elapsed, 2) if elapsed else None,
            # the engine's steps: wait start, wait end, send (3 per run), minus the 1 s wait
            "engine_steps_per_s": round(3 * args.runs / max(elapsed - 1, 0.001), 1)
            if elapsed else None,
            "email_e2e_per_s": round(args.runs / elapsed, 1) if elapsed else None,
            "due_to_start": delays, "worker_rss_mb": peaks,
        }, indent=2))
    finally:
        for child in workers:
            child.stop()
        sink.close()
        bench.drop()


if __name__ == "__main__":
    if sys.argv[1:2] == ["helper"]:
        import django

        django.setup()
        actions = {"inject": _inject, "delays": _delays}
        print(json.dumps(actions[sys.argv[2]](**json.loads(sys.argv[3]))))
    else:
        main()
