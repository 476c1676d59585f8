"""Published landing pages: requests/s at 50 clients beside /healthz, and the publish time
of a page with 200 components.

Not a test: prints figures, never fails on time. ``doxie serve`` (uvicorn) on loopback,
PostgreSQL at DATABASE_URL in its own database.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python \
        bench/pages_bench.py [--requests 5000] [--clients 50] [--web-workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from consents_bench import _load, _report  # noqa: E402


def _state(components: int) -> dict:
    kinds = [
        ("Heading", {"text": "Überschrift", "level": 2}),
        ("Text", {"text": "Ein Absatz <mit> Zeichen & Text.\nZweite Zeile."}),
        ("RichText", {"html": '<p>Rich <a href="https://example.org">link</a> '
                              '<b onclick="x">bold</b></p>'}),
        ("Button", {"label": "Los", "href": "https://example.org/go", "variant": "primary"}),
        ("Spacer", {"size": "small"}),
        ("Divider", {}),
    ]
    content = []
    for n in range(components):
        kind, props = kinds[n % len(kinds)]
        content.append({"type": kind, "props": {"id": f"{kind}-{n}", **props}})
    return {"root": {"props": {"title": "Bench"}}, "content": content, "zones": {}}


def _setup(components: int) -> tuple[int, str]:
    from doxie.brands import services as brands
    from doxie.pages.models import LandingPage
    from doxie.tenants import services as tenants

    tenant = tenants.create_tenant(slug="bench")
    brand = brands.create_brand(tenant=tenant, attributes={
        "name": "Bench", "slug": "bench", "style_attributes": {"primary_color": "#123456"}})
    page = LandingPage.objects.create(tenant=tenant, brand=brand, name="Bench", slug="landing",
                                      content_state=_state(components))
    return page.pk, tenant.slug


def _publish_times(page_id: int, runs: int) -> list[float]:
    from doxie.pages import publishing
    from doxie.pages.models import LandingPage

    times = []
    for _ in range(runs):
        LandingPage.objects.filter(pk=page_id).update(published_version=None)
        started = time.perf_counter()
        assert publishing.publish(page_id)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--components", type=int, default=200)
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()

    bench = common.prepare("doxie_bench_pages")
    web = None
    try:
        os.environ.update(bench.env)
        import django

        django.setup()
        page_id, tenant = _setup(args.components)
        times = _publish_times(page_id, 5)
        from django.db import connections

        connections.close_all()
        port = common.free_port()
        web = common.serve(bench.env, port, workers=args.web_workers)
        base = f"http://127.0.0.1:{port}"
        asyncio.run(_load(f"{base}/p/{tenant}/landing", 200, 10))  # warm-up
        results = {}
        for name, url in (("/healthz", f"{base}/healthz"),
                          (f"/p/{tenant}/landing", f"{base}/p/{tenant}/landing")):
            results[name] = asyncio.run(_load(url, args.requests, args.clients))
    finally:
        if web is not None:
            web.stop()
        bench.drop()
    print(f"publish, {args.components} components  median {statistics.median(times) * 1000:.1f} ms"
          f"  (runs: {', '.join(f'{t * 1000:.0f}' for t in times)} ms)")
    for name, result in results.items():
        _report(f"{name} at {args.clients} clients", result)
    ratio = results[f"/p/{tenant}/landing"]["rps"] / results["/healthz"]["rps"]
    print(f"published page / healthz  {ratio:.1%}")


if __name__ == "__main__":
    main()
