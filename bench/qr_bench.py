"""QR scan redirect (``GET /qr/{uuid}``) throughput beside ``/healthz``, and queries per scan.

Not a test: prints figures, never fails on time. ``doxie serve`` (2 uvicorn workers) on
loopback against a dedicated database on the DATABASE_URL server; the load generator is
this process (httpx, 50 keep-alive clients, redirects not followed).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python \
        bench/qr_bench.py [--seconds 10] [--clients 50] [--port 8180] [--keep]

In one run: ``/healthz`` (Django + one ``SELECT 1``: the stack's ceiling), then scans of one
code (every GET: counters UPDATE + scan INSERT + the notifier deferral, one transaction),
with a ``qr_code_scanned`` endpoint registered so the webhook outbox path is the one
measured, then ``/healthz`` again; the better healthz level is the ceiling. Afterwards it
checks that the code's counter equals the number of 302s (every scan counted once) and
reports the queries one scan costs (Django's query capture in a helper child).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def _setup() -> dict[str, Any]:
    """Tenant, brand, QR event and one code (P6 service), a QR endpoint, and the query
    count of one scan through the real request stack."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from doxie.brands.services import create_brand
    from doxie.processes.models import Event
    from doxie.qrcodes import services
    from doxie.qrcodes.models import QrCode, QrEventConfig, QrScan
    from doxie.tenants import services as tenants
    from doxie.webhooks import services as webhooks

    tenant = tenants.create_tenant(slug=common.TENANT)
    brand = create_brand(tenant=tenant, attributes={"name": "Bench", "slug": "bench"})
    event = Event.objects.create(tenant=tenant, slug="flyer", kind="qr", brand=brand)
    QrEventConfig.objects.create(tenant=tenant, event=event,
                                 target_url="https://example.com/angebot")
    webhooks.create_endpoint(tenant=tenant, type="Webhook::QrCodeScannedEndpoint",
                             url="http://127.0.0.1:9/qr")  # never delivered: no worker runs
    code = services.create_code(tenant=tenant, event_slug="flyer", payload={"c": "bench"})
    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
                    HTTP_HOST="127.0.0.1")
    counts = []
    for _ in range(3):  # the first defers the notifier; the others find it waiting
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/qr/{code.uuid}").status_code == 302
        counts.append(len(queries))
        last = [q["sql"][:60] for q in queries]
    QrScan.objects.all().delete()
    QrCode.objects.filter(pk=code.pk).update(scans_total=0, scans_human=0, scans_bot=0)
    return {"uuid": str(code.uuid), "queries_per_scan": counts, "last_scan_sql": last}


async def _measure(port: int, uuid: str, seconds: float, clients: int) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    await common.load(f"{base}/healthz", clients=clients, duration=2)  # warm-up
    runs = {"healthz_before": await common.load(f"{base}/healthz", clients=clients,
                                                duration=seconds)}
    headers = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) "
               "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile Safari/604.1"}
    runs["scan"] = await common.load(f"{base}/qr/{uuid}", clients=clients, duration=seconds,
                                     headers=headers)
    runs["healthz_after"] = await common.load(f"{base}/healthz", clients=clients,
                                              duration=seconds)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--port", type=int, default=8180)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()

    bench = common.prepare("doxie_bench_qr")
    web = None
    try:
        done = subprocess.run([common.PY, __file__, "setup"], env=bench.env, cwd=common.ROOT,
                              capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise SystemExit(f"setup failed:\n{done.stderr[-3000:]}")
        setup = json.loads(done.stdout.strip().splitlines()[-1])
        # As common.serve, with a longer start-up wait (a busy 2-core machine needs it).
        web = common.Child("web", [common.PY, "-m", "doxie.cli", "serve", "--port",
                                   str(args.port), "--workers", str(args.web_workers)],
                           bench.env)
        common.wait_http(f"http://127.0.0.1:{args.port}/healthz", web, timeout=300)
        runs = asyncio.run(_measure(args.port, setup["uuid"], args.seconds, args.clients))
        redirects = runs["scan"].statuses.get(302, 0)
        counted = common.sql(bench.url, "SELECT scans_total FROM qrcodes_qrcode")[0][0]
        rows = common.sql(bench.url, "SELECT count(*) FROM qrcodes_qrscan")[0][0]
        ceiling = max(runs["healthz_before"].rps, runs["healthz_after"].rps)
        report = {
            "machine": common.machine_info(bench.url),
            "clients": args.clients, "seconds": args.seconds,
            **{name: result.summary() for name, result in runs.items()},
            "scan_vs_healthz": round(runs["scan"].rps / ceiling, 2) if ceiling else None,
            "redirects": redirects, "scans_counted": counted, "scan_rows": rows,
            "queries_per_scan": setup["queries_per_scan"],
        }
    finally:
        if web is not None:
            web.stop()
        if not args.keep:
            bench.drop()
    print(json.dumps(report, indent=2))
    print(f"\nscans/s {report['scan']['rps']:.0f} (p99 {report['scan']['p99_ms']} ms) beside "
          f"/healthz {ceiling:.0f}/s = {report['scan_vs_healthz']} x; "
          f"counted {counted} of {redirects} redirects; queries per scan "
          f"{setup['queries_per_scan']}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["setup"]:
        import django

        django.setup()
        print(json.dumps(_setup()))
    else:
        main()
