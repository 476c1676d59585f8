"""Webhook delivery engine in isolation: drained in this process, next to a bare httpx loop.

Not a test: prints figures, never fails on time. ``bench/run.py`` measures webhooks end to
end through ``doxie worker``; this script is for whoever tunes ``webhooks/delivery.py`` and
``webhooks/sender.py``: the drain runs in this process (no job queue, no worker start-up),
so a profiler attached here sees only claim → signed POST → record.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python \\
        bench/webhooks_bench.py [--interactions 20000] [--endpoints 10]
    py-spy record -o drain.svg -- .venv/bin/python bench/webhooks_bench.py   # profile it

Uses its own database ``doxie_bench_webhooks`` (re-created, dropped at the end) and the
receiver of ``common.py`` in a separate process, so its GIL does not compete with the
engine. The ceiling is measured twice after the drain, with the exact bytes the engine sent,
at the per-endpoint and the total concurrency; the best level counts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from run import bare_http, best  # noqa: E402


async def drain_all(endpoint_ids: list[int]) -> float:
    """The drainers a worker would run side by side, with the worker's pooled clients."""
    from doxie.webhooks.delivery import drain_endpoint
    from doxie.webhooks.sender import close_pooled_clients

    started = time.perf_counter()
    counts = await asyncio.gather(*(drain_endpoint(eid, budget=3600) for eid in endpoint_ids))
    elapsed = time.perf_counter() - started
    await close_pooled_clients()
    return sum(counts) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--interactions", type=int, default=20_000)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--bare-requests", type=int, default=5_000,
                        help="requests per bare-loop run (before and after the drain)")
    args = parser.parse_args()

    bench = common.prepare("doxie_bench_webhooks")
    receiver, sink = common.Receiver(), common.SmtpSink()
    try:
        ids = common.helper(bench.env, "setup", smtp_port=sink.port, rate=100_000,
                            receiver_port=receiver.port, endpoints=args.endpoints)["endpoint_ids"]
        emitted = common.helper(bench.env, "emit", events=args.interactions // args.endpoints)
        os.environ.update(bench.env)
        import django

        django.setup()
        from django.db import connections

        from doxie.webhooks.delivery import concurrency

        levels = sorted({concurrency(), args.endpoints * concurrency()})
        bare: dict[int, list[float]] = {level: [] for level in levels}
        url = receiver.url("/bare")
        drain_rate = asyncio.run(drain_all(ids))
        body = receiver.call("sample")["body"].encode()  # the exact bytes the engine sent
        for _ in range(2):
            for level in levels:
                bare[level].append(asyncio.run(bare_http(url, body, args.bare_requests, level)))
        stats = receiver.call("stats")
        connections.close_all()
    finally:
        receiver.close()
        sink.close()
        bench.drop()
    ceiling = best(bare)
    print(f"interactions        {emitted['rows']} over {args.endpoints} endpoints, "
          f"{concurrency()} concurrent per endpoint")
    print(f"emit                {emitted['rows'] / emitted['seconds']:10.0f} rows/s "
          "(100 events per transaction)")
    for level, rates in bare.items():
        runs = ", ".join(f"{r:.0f}" for r in rates)
        print(f"bare httpx loop     {sum(rates) / len(rates):10.0f} requests/s at {level} "
              f"in flight (runs: {runs})")
    print(f"webhook drain       {drain_rate:10.0f} deliveries/s (receiver: {stats})")
    print(f"ratio               {drain_rate / ceiling:10.1%} of the best bare loop "
          "(target ≥ 50 %)")


if __name__ == "__main__":
    main()
