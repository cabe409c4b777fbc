"""Prometheus metrics of the app workers (multiprocess-aware)."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
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
    "invalid",
    "malformed_json",
    "payload_too_large",
    "unsupported_media_type",
    "method_not_allowed",
    "unauthorized",
    "forbidden",
)


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.issue_total = Counter(
            "couponrush_issue_requests_total",
            "Issue requests by result code",
            ["result"],
            registry=registry,
        )
        self._children = {r: self.issue_total.labels(r) for r in ISSUE_RESULTS}
        # The hot path bumps plain ints; flush() moves them into the Prometheus counters
        # (a locked, possibly file-backed update) about once a second.
        self._pending: dict[str, int] = dict.fromkeys(ISSUE_RESULTS, 0)

    def count_issue(self, result: str) -> None:
        self._pending[result] += 1

    def flush(self) -> None:
        pending = self._pending
        for result, child in self._children.items():
            count = pending[result]
            if count:
                pending[result] = 0
                child.inc(count)

    def render(self) -> tuple[bytes, str]:
        """Exposition text; of every worker when PROMETHEUS_MULTIPROC_DIR is set."""
        self.flush()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
