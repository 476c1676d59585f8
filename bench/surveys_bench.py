"""Survey submissions per second: valid final POSTs of ``/s/<token>`` at 20 clients, beside
``/healthz`` on the same server in the same run (the machine's own ceiling).

Not a test: prints figures, never fails on time. ``doxie serve`` on loopback, PostgreSQL in
its own database (``bench/common.prepare``). Each POST is a complete one-page survey for
its own inquiry: lock, validate, response, counters upsert, process finished, webhook row.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python \\
        bench/surveys_bench.py [--inquiries 2000] [--clients 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench import common  # noqa: E402


def _setup(count: int) -> None:
    """In a Django child: a tenant, a one-page survey, ``count`` inquiries; prints tokens."""
    import django

    django.setup()
    from datetime import timedelta

    from django.utils import timezone

    from doxie.brands.models import Brand
    from doxie.processes.models import Event, Process
    from doxie.surveys import services
    from doxie.surveys.models import Inquiry, Survey
    from doxie.tenants.models import Tenant
    from doxie.webhooks.services import create_endpoint

    tenant = Tenant.objects.create(slug="bench", name="Bench")
    brand = Brand.objects.create(tenant=tenant, slug="bench", name="Bench")
    event = Event.objects.create(tenant=tenant, slug="feedback", kind="survey", brand=brand)
    survey = Survey.objects.create(tenant=tenant, event=event, definition={"pages": [
        {"elements": [
            {"type": "rating", "name": "nps", "rateMin": 0, "rateMax": 10, "isRequired": True},
            {"type": "checkbox", "name": "topics", "choices": ["Strom", "Gas", "Solar"]},
            {"type": "comment", "name": "remarks"},
        ]}]})
    create_endpoint(tenant=tenant, type="Webhook::SurveyResponseEndpoint",
                    url="http://127.0.0.1:9/never", send_original_payload=True)
    tokens = [services.new_token() for _ in range(count)]
    processes = Process.objects.bulk_create(
        [Process(tenant=tenant, kind="survey", event=event) for _ in tokens])
    expires = timezone.now() + timedelta(days=7)
    Inquiry.objects.bulk_create([
        Inquiry(tenant=tenant, survey=survey, process=p, token_hash=services.hash_token(t),
                email=f"r{n}@example.com", expires_at=expires)
        for n, (p, t) in enumerate(zip(processes, tokens, strict=True))])
    print(json.dumps(tokens))


async def _submit(base: str, tokens: list[str], clients: int) -> common.LoadResult:
    import httpx

    result = common.LoadResult(0, 0.0)
    queue = iter(tokens)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        first = await client.get(f"{base}/s/{tokens[-1]}")  # a CSRF cookie for everyone
        csrf = first.cookies["csrftoken"]

        async def one_client() -> None:
            for n, token in enumerate(queue):
                body = {"csrfmiddlewaretoken": csrf, "page": "0", "action": "submit",
                        "q_nps": str(n % 11), "q_topics": ["Strom", "Gas"][: n % 3],
                        "q_remarks": "bench"}
                started = time.perf_counter()
                try:
                    response = await client.post(f"{base}/s/{token}", data=body,
                                                 cookies={"csrftoken": csrf})
                    status = response.status_code
                except httpx.HTTPError as exc:
                    status = 0
                    result.errors[type(exc).__name__] += 1
                result.latencies.append(time.perf_counter() - started)
                result.statuses[status] += 1
                result.requests += 1

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        result.seconds = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inquiries", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()
    bench = common.prepare("doxie_surveys_bench")
    web = None
    try:
        done = subprocess.run([common.PY, __file__, "--setup", str(args.inquiries)],
                              env=bench.env, cwd=ROOT, capture_output=True, text=True,
                              check=True)
        tokens = json.loads(done.stdout.strip().splitlines()[-1])
        port = common.free_port()
        web = common.serve(bench.env, port, workers=args.web_workers)
        base = f"http://127.0.0.1:{port}"
        healthz = asyncio.run(common.load(f"{base}/healthz", clients=args.clients,
                                          duration=10))
        submit = asyncio.run(_submit(base, tokens[:-1], args.clients))
        finished = common.sql(bench.url, "SELECT count(*) FROM surveys_surveyresponse")[0][0]
        print(json.dumps({"healthz": healthz.summary(), "survey_submit": submit.summary(),
                          "responses_stored": finished,
                          "ratio_to_healthz": round(submit.rps / healthz.rps, 3)}, indent=2))
    finally:
        if web is not None:
            web.stop()
        bench.drop()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--setup":
        _setup(int(sys.argv[2]))
    else:
        main()
