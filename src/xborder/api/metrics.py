"""``GET /metrics``: Prometheus text format (issue 14).

Decision: the endpoint is served where the admin API is (off by default in production, D17)
and asks for the same credential, ``Authorization: Bearer <XBORDER_ADMIN_TOKEN>``
(Prometheus sends it with ``authorization: {credentials: ...}`` in a scrape config): the
counts reveal traffic and partners' activity, which an anonymous caller has no business
seeing.

Two kinds of series:

- per process, fed by the request journal's thread from each answered XBS request (off the
  request path): ``xborder_requests_total{operation,status}``,
  ``xborder_request_duration_seconds{operation}`` and ``xborder_journal_dropped_total``.
  With several workers, each scrape sees the process that answered it;
- read from the database at scrape time, so the same from every process:
  ``xborder_payments{status}``, ``xborder_outbox_backlog`` (events not yet delivered, given
  up or skipped) and ``xborder_webhook_events{outcome}`` (DELIVERED, FAILED, SKIPPED, WAITING);
- the request writer of this process (group commit): ``xborder_writer_groups_total``,
  ``xborder_writer_units_total`` and ``xborder_writer_group_seconds_total``, so that
  ``rate(units)/rate(groups)`` is the mean group size and ``rate(seconds)/rate(groups)`` the
  mean time from a group's start to its commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from xborder.api.exchange import Trace
from xborder.storage.stats import StoreCounts, store_counts
from xborder.storage.writer import GroupStats

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


@dataclass(frozen=True, slots=True)
class Figures:
    """What ``/metrics`` and the console's home page show, read once from the same sources."""

    requests: dict[str, int]  # answered XBS requests by HTTP status, this process
    store: StoreCounts  # payments by status, outbox events by outcome (the database)
    dropped: int  # journal records dropped, this process
    writer: GroupStats | None  # this process's request writer (group commit)

    @property
    def backlog(self) -> int:
        """Status-change events waiting for delivery."""
        return self.store.events.get("WAITING", 0)

    @property
    def delivery_failures(self) -> int:
        """Status-change events whose delivery was given up."""
        return self.store.events.get("FAILED", 0)

    @property
    def group_size(self) -> float | None:
        """Mean units of work per committed write group."""
        writer = self.writer
        return writer.units / writer.groups if writer and writer.groups else None

    @property
    def commit_ms(self) -> float | None:
        """Mean milliseconds from a write group's start to its commit."""
        writer = self.writer
        return writer.seconds * 1000 / writer.groups if writer and writer.groups else None


class Metrics:
    """One app's metrics, in a registry of its own (several apps may share a process)."""

    def __init__(
        self,
        engine: Engine,
        dropped: Callable[[], int] = lambda: 0,
        writer: GroupStats | None = None,
    ) -> None:
        self.registry = CollectorRegistry()  # collect() runs at scrape only
        self.requests = Counter(
            "xborder_requests",
            "XBS requests answered by this process",
            ["operation", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "xborder_request_duration_seconds",
            "Time from a request's arrival to its answer, in this process",
            ["operation"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self._engine = engine
        self._dropped = dropped
        self._writer = writer
        self.registry.register(_FiguresCollector(self.figures))
        self._series: dict[tuple[str, int], tuple[Any, Any]] = {}

    def observe(self, trace: Trace) -> None:
        """A journal listener: count one answered request (from its trace, so the counts
        need no journal entry and go on with the journal off)."""
        route = trace.route
        key = (route.name if route is not None else "unrouted", trace.status)
        series = self._series.get(key)
        if series is None:  # label lookups are slow; a handful of series is all there is
            series = (self.requests.labels(key[0], str(key[1])), self.latency.labels(key[0]))
            self._series[key] = series
        series[0].inc()
        series[1].observe(trace.finished - trace.started)

    def figures(self) -> Figures:
        """The figures of both views (runs the database counts: call off the event loop)."""
        by_status: dict[str, int] = {}
        for family in self.requests.collect():
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    status = sample.labels["status"]
                    by_status[status] = by_status.get(status, 0) + int(sample.value)
        writer = self._writer
        snapshot = (
            GroupStats(writer.groups, writer.units, writer.seconds, writer.rerun)
            if writer
            else None
        )
        return Figures(by_status, store_counts(self._engine), self._dropped(), snapshot)

    def render(self) -> bytes:
        """The text exposition (runs the database counts: call off the event loop)."""
        return generate_latest(self.registry)


class _FiguresCollector(Collector):
    """The series read at scrape time: the database's counts and the writer's."""

    def __init__(self, figures: Callable[[], Figures]) -> None:
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        figures = self._figures()
        yield from _store_families(figures)
        if figures.writer is not None:
            yield from _writer_families(figures.writer)


def _store_families(figures: Figures) -> Iterator[Metric]:
    counts = figures.store
    payments = GaugeMetricFamily("xborder_payments", "Stored payments", labels=["status"])
    for status, count in sorted(counts.payments.items()):
        payments.add_metric([status], count)
    yield payments
    events = GaugeMetricFamily(
        "xborder_webhook_events", "Status-change events by outcome", labels=["outcome"]
    )
    for outcome, count in sorted(counts.events.items()):
        events.add_metric([outcome], count)
    yield events
    yield GaugeMetricFamily(
        "xborder_outbox_backlog", "Events waiting for delivery", figures.backlog
    )
    yield GaugeMetricFamily(
        "xborder_journal_dropped", "Journal records dropped (ring full)", figures.dropped
    )


def _writer_families(stats: GroupStats) -> Iterator[Metric]:
    yield CounterMetricFamily(
        "xborder_writer_groups", "Write groups committed by this process", stats.groups
    )
    yield CounterMetricFamily(
        "xborder_writer_units",
        "Units of work in those groups (size = units/groups)",
        stats.units,
    )
    yield CounterMetricFamily(
        "xborder_writer_group_seconds",
        "Seconds from a group's start to its commit, summed",
        stats.seconds,
    )
    yield CounterMetricFamily(
        "xborder_writer_groups_rerun",
        "Groups run again with a savepoint per unit, after a unit failed having changed something",
        stats.rerun,
    )


def metrics_endpoint(
    metrics: Metrics,
    authorise: Callable[[Request], None],
    refuse: Callable[[BaseException], Response],
) -> Callable[[Request], Any]:
    """The ``/metrics`` endpoint behind the admin credential."""

    async def serve(request: Request) -> Response:
        try:
            authorise(request)
            body = await run_in_threadpool(metrics.render)
        except Exception as exc:  # noqa: BLE001 - refused like an admin call
            return refuse(exc)
        return Response(body, headers={"content-type": CONTENT_TYPE_LATEST})

    return serve
