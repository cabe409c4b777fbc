"""Prometheus counters of the pipeline processes (one registry per process)."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, start_http_server, write_to_textfile


class PipelineMetrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.rows = Counter(
            "couponrush_pipeline_rows_written", "Wins newly written to the database", registry=r
        )
        self.redelivered = Counter(
            "couponrush_pipeline_redelivered",
            "Wins the database already held (at-least-once re-deliveries)",
            registry=r,
        )
        self.relayed = Counter(
            "couponrush_pipeline_relayed", "Outbox entries delivered to Kafka", registry=r
        )
        self.retries = Counter(
            "couponrush_pipeline_retries", "Retries after transient failures", ["stage"],
            registry=r,
        )  # fmt: skip
        self.dead_letters = Counter(
            "couponrush_pipeline_dead_letters", "Messages sent to the dead-letter stream",
            ["kind"], registry=r,
        )  # fmt: skip
        self.breaches = Counter(
            "couponrush_reconcile_breaches", "Breaches found by reconcile", ["kind"], registry=r
        )

    def serve(self, port: int) -> None:
        """Expose /metrics on loopback ``port`` (0 = not at all)."""
        if port:
            start_http_server(port, addr="127.0.0.1", registry=self.registry)

    def write(self, path: Path) -> None:
        """For one-shot commands: a file for node-exporter's textfile collector."""
        write_to_textfile(str(path), self.registry)
