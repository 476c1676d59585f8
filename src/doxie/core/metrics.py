"""Prometheus metrics: counters the code increments, gauges read from the database at scrape.

Counters and histograms live in ``prometheus_client``'s multiprocess mode when
``PROMETHEUS_MULTIPROC_DIR`` is set (``doxie run``/``serve``/``worker`` set it to a folder in
the data directory), so a scrape of any web process sums every web and worker process.

Gauges that describe the queues (messages due, webhooks due, job lag, worker heartbeat, open
provider breakers) are not kept in memory: they are read at scrape time by cheap indexed
queries. ``core`` knows no domain app, so each app registers its own readers with
``register_source`` in its ``AppConfig.ready()``; a reader returns ``Sample``\\ s.

``/metrics`` is off unless ``DOXIE_METRICS=1``; on the public listener it then needs
``Authorization: Bearer $DOXIE_METRICS_TOKEN``; ``doxie serve --metrics-port`` serves it
without a token on a separate (private) port instead.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("doxie.metrics")
disable_created_metrics()  # the *_created samples double the series for no alert's use

HTTP_REQUESTS = Counter(
    "doxie_http_requests", "HTTP requests by route template, method and status",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "doxie_http_request_duration_seconds", "HTTP request duration by route template", ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
MESSAGES = Counter("doxie_messages", "Messages by channel and outcome", ["channel", "status"])
MESSAGE_SEND_DURATION = Histogram(
    "doxie_message_send_duration_seconds", "Provider send time per message", ["provider"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
WEBHOOK_DELIVERIES = Counter(
    "doxie_webhook_deliveries", "Webhook delivery attempts by outcome", ["outcome"],
)
#: Per-domain business events (``doi_confirmation``, ``qr_scan``, ``survey_response``,
#: ``journey_step``): one counter with a bounded ``kind`` label instead of one per app.
DOMAIN_EVENTS = Counter("doxie_domain_events", "Domain events by kind", ["kind"])


# --- scrape-time gauges ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One gauge value read at scrape time."""

    name: str
    help: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


Source = Callable[[], Iterable[Sample]]
_sources: list[Source] = []


def register_source(source: Source) -> None:
    """Add a scrape-time reader (an app's queue depth); idempotent per function."""
    if source not in _sources:
        _sources.append(source)


_JOB_LAG_SQL = """
    SELECT EXTRACT(EPOCH FROM now() - min(COALESCE(j.scheduled_at, e.at)))
    FROM procrastinate_jobs j
    LEFT JOIN LATERAL (
        SELECT min(at) AS at FROM procrastinate_events
        WHERE job_id = j.id AND type = 'deferred'
    ) e ON j.scheduled_at IS NULL
    WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
"""
_HEARTBEAT_SQL = "SELECT EXTRACT(EPOCH FROM now() - max(last_heartbeat)) FROM procrastinate_workers"


def worker_heartbeat_age() -> float | None:
    """Seconds since the freshest worker heartbeat (None: no worker registered).

    procrastinate (v3) writes ``procrastinate_workers.last_heartbeat`` every
    ``update_heartbeat_interval`` seconds and deletes its row when it stops cleanly."""
    with connection.cursor() as cursor:
        cursor.execute(_HEARTBEAT_SQL)
        row = cursor.fetchone()
    return None if row is None or row[0] is None else float(row[0])


def job_samples() -> Iterator[Sample]:
    with connection.cursor() as cursor:
        cursor.execute(_JOB_LAG_SQL)
        lag = cursor.fetchone()[0]
    yield Sample("doxie_job_lag_seconds", "Age of the oldest due job not yet picked up",
                 max(0.0, float(lag or 0)))
    age = worker_heartbeat_age()
    yield Sample("doxie_worker_heartbeat_age_seconds",
                 "Seconds since the last worker heartbeat (+Inf: no worker)",
                 float("inf") if age is None else max(0.0, age))


register_source(job_samples)


def breaker_samples(states: Iterable[tuple[str, bool]]) -> Iterator[Sample]:
    """``doxie_provider_breaker_open{brand}`` from ``(brand slug, open)`` pairs.

    The per-brand provider circuit breaker (performance work) registers
    ``register_source(lambda: breaker_samples(its_states()))``. Brand labels are bounded by
    ``DOXIE_METRICS_MAX_BRANDS``: beyond it only open breakers get a series of their own;
    ``doxie_provider_breakers_open`` always counts them all."""
    states = list(states)
    limit = getattr(settings, "DOXIE_METRICS_MAX_BRANDS", 200)
    opened = 0
    for brand, is_open in states:
        opened += bool(is_open)
        if len(states) <= limit or is_open:
            yield Sample("doxie_provider_breaker_open",
                         "1 while the brand's provider circuit breaker is open",
                         1.0 if is_open else 0.0, {"brand": brand})
    yield Sample("doxie_provider_breakers_open", "Brands whose provider breaker is open",
                 float(opened))


class ScrapeCollector(Collector):
    """Runs the registered sources; one failing source is logged and skipped."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families: dict[str, GaugeMetricFamily] = {}
        label_names: dict[str, list[str]] = {}
        for source in list(_sources):
            try:
                samples = list(source())
            except Exception:  # noqa: BLE001 - a scrape must answer even if one query fails
                log.warning("metrics source %s failed", getattr(source, "__name__", source),
                            exc_info=True)
                continue
            for sample in samples:
                names = sorted(sample.labels)
                family = families.get(sample.name)
                if family is None:
                    family = GaugeMetricFamily(sample.name, sample.help, labels=names)
                    families[sample.name] = family
                    label_names[sample.name] = names
                family.add_metric([sample.labels[n] for n in label_names[sample.name]],
                                  sample.value)
        yield from families.values()

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # values are read at scrape time only


def registry() -> CollectorRegistry:
    """What a scrape reads: every process's counters (multiprocess) plus the DB gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
    else:
        reg = CollectorRegistry()
        reg.register(_ProcessLocal())
    reg.register(ScrapeCollector())
    return reg


class _ProcessLocal(Collector):
    """The default registry's metrics (single-process mode: tests, a bare ``runserver``)."""

    def collect(self) -> Iterator:  # type: ignore[type-arg]
        yield from REGISTRY.collect()


def render() -> tuple[bytes, str]:
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: 404 unless enabled, 401 without the bearer token."""
    if not settings.DOXIE_METRICS or not settings.DOXIE_METRICS_TOKEN:
        return HttpResponse("Not found\n", status=404, content_type="text/plain")
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), settings.DOXIE_METRICS_TOKEN.encode()
    ):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = render()
    return HttpResponse(body, content_type=content_type)


# --- the request side -----------------------------------------------------------------------


def route_of(request: HttpRequest) -> str:
    """The URL pattern that answered (never the raw path: bounded cardinality)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return "/" + (match.route or "").lstrip("^").rstrip("$") if match.route else "unmatched"


class MetricsMiddleware:
    """Counts every request by route template, method and status, and times it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_of(request)
        method = request.method if request.method in _METHODS else "OTHER"
        HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
        HTTP_DURATION.labels(route).observe(time.perf_counter() - started)
        return response


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
