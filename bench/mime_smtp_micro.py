"""Micro-benchmark of the email hot path: MIME rendering and the SMTP adapter. Not a test.

    .venv/bin/python bench/mime_smtp_micro.py [--messages 5000] [--connections 4]
        [--render-calls 5000] [--rounds 3] [--profile cprofile|none]

    DOXIE_BENCH_SRC=/tmp/old/src .venv/bin/python bench/mime_smtp_micro.py  # "before" figures

Why it exists: end to end, email delivery ran at a fraction of what a bare aiosmtplib loop
reaches against the same sink, and the worker's CPU per message was the limit. This isolates
the two pieces the worker spends that CPU on, without Django or a database:

(a) ``render_mime`` of a typical message (≈1 KB HTML with links + text part, German subject
    with umlauts, display name, Reply-To, List-Unsubscribe, our Message-ID), per call;
(b) ``SmtpProvider.send_email`` for N distinct messages over ``--connections`` pooled
    sessions into an aiosmtpd sink running in a child process (so the sink's GIL does not
    compete with the code measured), next to a bare aiosmtplib loop over the same number of
    connections sending pre-rendered bytes. CPU time of this process per message is the
    figure that matters on a 2-core box; wall-clock msgs/s and the ratio are printed too.
    Bare and provider runs alternate for ``--rounds`` rounds and the median is reported,
    because the sink (pure-Python aiosmtpd) makes single runs noisy.

``DOXIE_BENCH_SRC`` imports ``doxie`` from another source tree (e.g. a copy of the previous
version), so before/after figures come from the same benchmark code.

``--profile cprofile`` re-runs (b) under cProfile and prints the top functions by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import multiprocessing
import os
import pstats
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("DOXIE_BENCH_SRC") or str(ROOT / "src"))

from doxie.providers.base import EmailMessage  # noqa: E402
from doxie.providers.email.mime import render_mime  # noqa: E402
from doxie.providers.email.smtp import SmtpProvider, SmtpSettings  # noqa: E402

SENDER = "news@acme.example"
_LINKS = "".join(
    f'<li><a href="https://t.acme.example/l/{token}?utm_source=newsletter">Angebot {n}</a>'
    " – jetzt ansehen</li>\n"
    for n, token in enumerate(("Qm9vayxBwZ3KkdEr", "c2hvZXMtMjAyNS1z", "ZnLDvGhsaW5nLXRh"), 1)
)
HTML = (
    '<!doctype html>\n<html><body style="font-family:Arial,sans-serif">\n'
    "<p>Hallo Jürgen,</p>\n<p>schöne Grüße aus Köln! Unsere Frühlingsangebote sind da – "
    "nur für kurze Zeit und solange der Vorrat reicht.</p>\n<ul>\n" + _LINKS + "</ul>\n"
    "<p>Viele Grüße<br>Ihr Acmé-Team</p>\n"
    '<p style="font-size:11px;color:#888">Sie erhalten diese E-Mail, weil Sie unseren '
    'Newsletter abonniert haben. <a href="https://acme.example/u/tok123">Abmelden</a></p>\n'
    '<img src="https://t.acme.example/o/Qm9vayxBwZ3K.gif" width="1" height="1" alt="">\n'
    "</body></html>\n"
)
TEXT = (
    "Hallo Jürgen,\n\nschöne Grüße aus Köln! Unsere Frühlingsangebote sind da.\n\n"
    "Angebot 1: https://t.acme.example/l/Qm9vayxBwZ3KkdEr\n"
    "Angebot 2: https://t.acme.example/l/c2hvZXMtMjAyNS1z\n"
    "Angebot 3: https://t.acme.example/l/ZnLDvGhsaW5nLXRh\n\n"
    "Viele Grüße\nIhr Acmé-Team\n\nAbmelden: https://acme.example/u/tok123\n"
)


def typical_message(n: int = 0) -> EmailMessage:
    """A distinct message per ``n`` (id and recipient differ), so no cache can cheat."""
    return EmailMessage(
        message_id=f"01HXQ3M8ZK5V9T2Y7W4R{n:06d}",
        sender=SENDER,
        to=[f"user{n}@example.org"],
        subject="Grüße aus Köln – Ihre Frühlingsangebote für März",
        html=HTML,
        text=TEXT,
        sender_name="Acmé Newsletter",
        reply_to="support@acme.example",
        list_unsubscribe="https://acme.example/u/tok123",
        headers={"X-Campaign": "spring-2025"},
    )


# --- (a) rendering --------------------------------------------------------------------------


def bench_render(calls: int) -> float:
    """Best of three runs, µs per ``render_mime`` call."""
    messages = [typical_message(n) for n in range(calls)]
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for message in messages:
            render_mime(message)
        best = min(best, time.perf_counter() - started)
    return best / calls * 1e6


# --- the sink (child process) ---------------------------------------------------------------


def _sink(port_out: Synchronized, counter: Synchronized, stop: Event) -> None:
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            with counter.get_lock():
                counter.value += 1
            return "250 2.0.0 queued"

    with socket.socket() as probe:  # aiosmtpd probes its own port, so it needs a real one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    port_out.value = port
    stop.wait()
    controller.stop()


class Sink:
    """aiosmtpd in a spawned child process; counts the messages it accepted."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.port = ctx.Value("i", 0)
        self.counter = ctx.Value("l", 0)
        self.stop = ctx.Event()
        self.proc = ctx.Process(target=_sink, args=(self.port, self.counter, self.stop))
        self.proc.daemon = True
        self.proc.start()
        while self.port.value == 0:
            if not self.proc.is_alive():
                raise SystemExit("the SMTP sink did not start")
            time.sleep(0.05)

    def close(self) -> None:
        self.stop.set()
        self.proc.join(5)


# --- (b) sending ----------------------------------------------------------------------------


async def _timed(n: int, run: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """(wall µs/msg, CPU µs/msg of this process) for ``run`` sending ``n`` messages."""
    wall, cpu = time.perf_counter(), time.process_time()
    await run()
    return ((time.perf_counter() - wall) / n * 1e6, (time.process_time() - cpu) / n * 1e6)


async def bench_bare(port: int, n: int, connections: int) -> tuple[float, float]:
    import aiosmtplib

    payload = render_mime(typical_message())
    per = n // connections

    async def one_connection() -> None:
        client = aiosmtplib.SMTP(
            hostname="127.0.0.1", port=port, start_tls=False, local_hostname="bench"
        )
        await client.connect()
        for i in range(per):
            await client.sendmail(SENDER, [f"user{i}@example.org"], payload)
        await client.quit()

    async def run() -> None:
        await asyncio.gather(*(one_connection() for _ in range(connections)))

    return await _timed(per * connections, run)


async def bench_provider(port: int, n: int, connections: int) -> tuple[float, float]:
    settings = SmtpSettings(host="127.0.0.1", port=port, starttls=False, domain="bench.example")
    provider = SmtpProvider(settings, pool_size=connections)
    per = n // connections
    messages = [typical_message(i) for i in range(per * connections)]

    async def one_sender(offset: int) -> None:
        for message in messages[offset::connections]:
            await provider.send_email(message)

    async def run() -> None:
        await asyncio.gather(*(one_sender(k) for k in range(connections)))

    await provider.send_email(typical_message(999_999))  # open one session outside the timing
    try:
        return await _timed(len(messages), run)
    finally:
        await provider.aclose()


def _median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def _report(name: str, wall_us: float, cpu_us: float) -> None:
    print(
        f"  {name:<26} {wall_us:8.1f} µs/msg wall {1e6 / wall_us:8.0f} msgs/s   "
        f"{cpu_us:8.1f} µs/msg CPU (client process)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--render-calls", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", choices=("none", "cprofile"), default="none")
    args = parser.parse_args()

    payload = render_mime(typical_message())
    print(f"typical message: {len(payload)} bytes rendered")
    print(f"(a) render_mime: {bench_render(args.render_calls):8.1f} µs/call")

    sink = Sink()
    try:
        port = sink.port.value
        asyncio.run(bench_bare(port, 400, args.connections))  # warm both sides up
        bare_runs, provider_runs = [], []
        for _ in range(args.rounds):
            bare_runs.append(asyncio.run(bench_bare(port, args.messages, args.connections)))
            provider_runs.append(asyncio.run(bench_provider(port, args.messages, args.connections)))
        bare = _median(bare_runs)
        ours = _median(provider_runs)
        print(
            f"(b) {args.messages} messages over {args.connections} connections, "
            f"median of {args.rounds} rounds:"
        )
        _report("bare aiosmtplib (bytes)", *bare)
        _report("SmtpProvider.send_email", *ours)
        print(
            f"  ratio provider/bare: {bare[0] / ours[0]:.0%} of bare throughput, "
            f"CPU {ours[1] / bare[1]:.2f}x; provider overhead "
            f"{ours[1] - bare[1]:.0f} µs CPU/msg"
        )
        if args.profile == "cprofile":
            profiler = cProfile.Profile()
            profiler.enable()
            asyncio.run(bench_provider(port, args.messages, args.connections))
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
            print(out.getvalue())
    finally:
        sink.close()
        print(f"sink received {sink.counter.value} messages")


if __name__ == "__main__":
    main()
