"""Prometheus metrics of the app workers (multiprocess-aware).

The hot path only bumps plain numbers (a dict entry, a bucket found by bisection);
``flush`` moves them into prometheus_client's values, which are locked and, under
granian's workers, file-backed, about once a second. Names are documented in
docs/observability.md; keep them stable.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

ISSUE_RESULTS = (
    "issued",
    "already_issued",
    "sold_out",
    "not_found",
    "not_open",
    "closed",
    "unavailable",
    "overloaded",
    "rate_limited",
    "not_admitted",
    "invalid",
    "malformed_json",
    "payload_too_large",
    "unsupported_media_type",
    "method_not_allowed",
    "unauthorized",
    "forbidden",
)
# The results that say something of an existing event: counted per event too, for the
# dashboard's results mix (store.results).
EVENT_RESULTS = frozenset(
    (
        "issued",
        "already_issued",
        "sold_out",
        "not_open",
        "closed",
        "unavailable",
        "overloaded",
        "rate_limited",
        "not_admitted",
    )
)
# Events whose counts one flush hands on at most (the rest are made-up ids, or a storm).
_EVENTS_PER_FLUSH = 1000
INF = float("inf")
# Fine below 50 ms, where a healthy issue answer lives.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.0125, 0.015,
                   0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, INF)  # fmt: skip
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, INF)
ROUND_TRIP_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025,
                      0.05, 0.1, 0.25, 0.5, INF)  # fmt: skip


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Tally:
    """A histogram's observations as plain numbers until ``flush``."""

    __slots__ = ("bounds", "counts", "histogram", "total")

    def __init__(self, histogram: Histogram) -> None:
        self.histogram = histogram
        self.bounds = list(histogram._upper_bounds)
        self.counts = [0] * len(self.bounds)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def flush(self) -> None:
        """The same effect as ``histogram.observe`` once per value: prometheus_client keeps
        one count per bucket (cumulated only when collected) and the sum."""
        for i, count in enumerate(self.counts):
            if count:
                self.counts[i] = 0
                self.histogram._buckets[i].inc(count)
        if self.total:
            self.histogram._sum.inc(self.total)
            self.total = 0.0


class Metrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.issue_total = Counter(
            "couponrush_issue_requests_total",
            "Issue requests by result code",
            ["result"],
            registry=r,
        )
        self._children = {res: self.issue_total.labels(res) for res in ISSUE_RESULTS}
        self.rejections = Counter(
            "couponrush_admission_rejections",
            "Issue requests refused at the worker's in-flight bound (503 overloaded)",
            registry=r,
        )
        self.in_flight = Gauge(
            "couponrush_issue_in_flight",
            "Issue calls waiting for Redis, sampled each second",
            multiprocess_mode="livesum",
            registry=r,
        )
        self._in_flight_probe: Callable[[], int] = lambda: 0
        self._pending: dict[str, int] = dict.fromkeys(ISSUE_RESULTS, 0)
        self._by_event: dict[str, dict[str, int]] = {}
        self._latency = Tally(
            Histogram(
                "couponrush_issue_latency_seconds",
                "Issue route: request in to answer out",
                buckets=LATENCY_BUCKETS,
                registry=r,
            )
        )
        # One attribute look-up less each on the hot path.
        self._latency_counts, self._latency_bounds = self._latency.counts, self._latency.bounds
        self._batch = Tally(
            Histogram(
                "couponrush_redis_batch_size",
                "Issue calls per pipelined Redis round trip",
                buckets=BATCH_BUCKETS,
                registry=r,
            )
        )
        self._round_trip = Tally(
            Histogram(
                "couponrush_redis_round_trip_seconds",
                "One pipelined batch of issue calls",
                buckets=ROUND_TRIP_BUCKETS,
                registry=r,
            )
        )

    def count_issue(self, result: str, seconds: float, event_id: str = "") -> None:
        """One answer of the issue route (the hot path: plain numbers only)."""
        self._pending[result] += 1
        if result in EVENT_RESULTS:
            per = self._by_event.get(event_id)
            if per is None:
                per = self._by_event[event_id] = {}
            per[result] = per.get(result, 0) + 1
        self._latency_counts[bisect_left(self._latency_bounds, seconds)] += 1
        self._latency.total += seconds

    def take_event_counts(self) -> dict[str, dict[str, int]]:
        """The answers per event and result since the last call (at most a bounded number
        of events: past that they are dropped, never kept to grow)."""
        taken, self._by_event = self._by_event, {}
        if len(taken) > _EVENTS_PER_FLUSH:
            taken = dict(list(taken.items())[:_EVENTS_PER_FLUSH])
        return taken

    def observe_batch(self, size: int, seconds: float) -> None:
        self._batch.observe(size)
        self._round_trip.observe(seconds)

    def watch_in_flight(self, probe: Callable[[], int]) -> None:
        self._in_flight_probe = probe

    def flush(self) -> None:
        pending = self._pending
        if pending["overloaded"]:
            self.rejections.inc(pending["overloaded"])
        for result, child in self._children.items():
            count = pending[result]
            if count:
                pending[result] = 0
                child.inc(count)
        for tally in (self._latency, self._batch, self._round_trip):
            tally.flush()
        self.in_flight.set(self._in_flight_probe())

    def render(self) -> tuple[bytes, str]:
        """Exposition text; of every worker when PROMETHEUS_MULTIPROC_DIR is set."""
        self.flush()
        if multiprocess_dir():
            return generate_latest(collected()), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def close(self) -> None:
        """At worker exit: its live gauges leave the sum of the workers."""
        self.flush()
        if multiprocess_dir():
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def collected() -> CollectorRegistry:
    """A registry of every app worker's metrics, read from PROMETHEUS_MULTIPROC_DIR."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def serve_collected(host: str, port: int) -> None:
    """Serve every app worker's metrics on host:port from a thread of this process: for
    workers behind Unix sockets, which Prometheus cannot scrape."""
    start_http_server(port, addr=host, registry=collected())
