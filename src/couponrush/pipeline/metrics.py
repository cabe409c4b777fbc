"""Prometheus metrics of the pipeline processes (one registry per process).

Names are documented in docs/observability.md; keep them stable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, write_to_textfile

from couponrush.pipeline.health import Readiness, serve
from couponrush.store.stats import EventStats, ReconcileRecord

# Label values known in advance, exported at 0 from the start so that rate() and the
# alerts see a series before the first retry or dead letter.
STAGES = ("fetch", "ack", "dlq", "events", "write", "produce", "topics", "sink")
DEAD_LETTER_KINDS = ("parse", "unknown_event", "conflict", "rejected")
Role = Literal["consumer", "relay", "reconcile"]


class PipelineMetrics:
    """Every metric of the pipeline; a process exports those of its ``role`` (the others
    are kept out of its registry, so nothing reads a misleading 0)."""

    def __init__(self, role: Role = "consumer") -> None:
        self.registry = r = CollectorRegistry()
        self.readiness = Readiness()

        def of(*roles: Role) -> CollectorRegistry | None:
            return r if role in roles else None

        both = of("consumer", "relay")
        self.rows = Counter(
            "couponrush_pipeline_rows_written",
            "Wins newly written to the database",
            registry=of("consumer"),
        )
        self.redelivered = Counter(
            "couponrush_pipeline_redelivered",
            "Wins the database already held (at-least-once re-deliveries)",
            registry=of("consumer"),
        )
        self.relayed = Counter(
            "couponrush_pipeline_relayed", "Outbox entries delivered to Kafka", registry=of("relay")
        )
        self.acknowledged = Counter(
            "couponrush_pipeline_acknowledged",
            "Messages acknowledged to their source once handled (the pipeline's progress)",
            registry=both,
        )
        self.retries = Counter(
            "couponrush_pipeline_retries",
            "Retries after transient failures",
            ["stage"],
            registry=both,
        )
        self.dead_letters = Counter(
            "couponrush_pipeline_dead_letters",
            "Messages sent to the dead-letter stream",
            ["kind"],
            registry=both,
        )
        for stage in STAGES:
            self.retries.labels(stage)
        for kind in DEAD_LETTER_KINDS:
            self.dead_letters.labels(kind)
        self.lag = Gauge(
            "couponrush_consumer_lag_seconds",
            "At the last database write: its time minus issued_at of the newest win in it",
            registry=of("consumer"),
        )
        self.relay_backlog = Gauge(
            "couponrush_relay_backlog",
            "Outbox entries (all events) the relay's group has not acknowledged",
            registry=of("relay"),
        )
        self.events = EventGauges(of("consumer"), of("consumer", "reconcile"))
        self.kafka = KafkaGauges(of("consumer"))

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """/metrics, /readyz and /healthz on ``host:port`` (0 = not at all)."""
        if port:
            serve(self.registry, self.readiness, host, port)

    def write(self, path: Path) -> None:
        """For one-shot commands: a file for node-exporter's textfile collector."""
        write_to_textfile(str(path), self.registry)


class EventGauges:
    """What Redis holds per event, the dead letters and the last reconcile of each event,
    as the consumer's sampler reads them (store.stats)."""

    def __init__(self, r: CollectorRegistry | None, checks: CollectorRegistry | None) -> None:
        """``r`` for what Redis holds, ``checks`` for the reconcile gauges."""
        event = ["event"]
        self.remaining = Gauge(
            "couponrush_event_stock_remaining", "Coupons left", event, registry=r
        )
        self.total = Gauge("couponrush_event_coupons", "Coupons of the event", event, registry=r)
        self.issued = Gauge("couponrush_event_issued", "Winners in Redis", event, registry=r)
        self.backlog = Gauge(
            "couponrush_outbox_backlog",
            "Outbox entries the group that drains the outbox has not acknowledged",
            event,
            registry=r,
        )
        self.dead_letters = Gauge(
            "couponrush_dead_letters", "Entries in the dead-letter stream (DLQ depth)", registry=r
        )
        self.breaches = Gauge(
            "couponrush_reconcile_breaches",
            "Breaches found by the last reconcile of the event",
            ["event", "kind"],
            registry=checks,
        )
        self.reconciled = Gauge(
            "couponrush_reconcile_last_run_timestamp_seconds",
            "When the event was last reconciled",
            event,
            registry=checks,
        )
        self._shown: set[str] = set()
        self._reconciled: set[str] = set()

    def show(self, stats: Sequence[EventStats]) -> None:
        seen = {s.event_id for s in stats}
        for gone in self._shown - seen:
            for gauge in (self.remaining, self.total, self.issued, self.backlog):
                gauge.remove(gone)
        self._shown = seen
        for s in stats:
            self.remaining.labels(s.event_id).set(s.remaining)
            self.total.labels(s.event_id).set(s.total)
            self.issued.labels(s.event_id).set(s.issued)
            self.backlog.labels(s.event_id).set(s.backlog)

    def show_reconciles(self, records: Sequence[ReconcileRecord], kinds: Sequence[str]) -> None:
        """Every kind of each record, zeros included, so a clean run reads as 0."""
        seen = {rec.event_id for rec in records}
        for gone in self._reconciled - seen:
            self.reconciled.remove(gone)
            for kind in kinds:
                self.breaches.remove(gone, kind)
        self._reconciled = seen
        for rec in records:
            self.reconciled.labels(rec.event_id).set(rec.at_ms / 1000)
            for kind in kinds:
                self.breaches.labels(rec.event_id, kind).set(rec.breaches.get(kind, 0))


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """One partition of the wins topic as the consumer group stands in it."""

    partition: int
    end: int  # the log end offset (high watermark): the next message's offset
    committed: int  # the group's next offset to read; the log start while it has none

    @property
    def lag(self) -> int:
        return max(0, self.end - self.committed)


class KafkaGauges:
    """The consumer group's offsets on the wins topic, per partition (Kafka mode only: in
    stream mode no series exists)."""

    def __init__(self, r: CollectorRegistry | None) -> None:
        where = ["topic", "partition"]
        self.lag = Gauge(
            "couponrush_kafka_consumer_lag",
            "Messages of the partition the group has not committed (log end offset "
            "minus committed offset): wins with no row yet",
            where,
            registry=r,
        )
        self.end = Gauge(
            "couponrush_kafka_log_end_offset",
            "The partition's log end offset (high watermark)",
            where,
            registry=r,
        )
        self.committed = Gauge(
            "couponrush_kafka_committed_offset",
            "The group's committed offset in the partition (after the database commit)",
            where,
            registry=r,
        )

    def show(self, topic: str, partitions: Sequence[PartitionLag]) -> None:
        for p in partitions:
            labels = (topic, str(p.partition))
            self.lag.labels(*labels).set(p.lag)
            self.end.labels(*labels).set(p.end)
            self.committed.labels(*labels).set(p.committed)
