"""Reads what the metrics show from Redis once per interval, in the pipeline processes:
per-event stock, winners and outbox backlog, the dead letters and the last reconciles
(the consumer), or the relay's backlog (the relay); in Kafka mode the consumer also reads
its group's lag."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog
from redis.exceptions import RedisError

from couponrush.core.errors import RetryableError
from couponrush.core.reconcile import Report
from couponrush.pipeline.metrics import PipelineMetrics
from couponrush.store import stats
from couponrush.store.client import RedisClient

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Sampler:
    redis: RedisClient
    metrics: PipelineMetrics
    # The group that drains the outbox: the consumer's in stream mode, the relay's in Kafka.
    group: str
    every_s: float
    max_events: int
    relay: bool = False
    # Further reads of each interval (the Kafka group's lag), each failing on its own.
    probes: Sequence[Callable[[], Awaitable[None]]] = ()

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``; a failed read is logged and tried again at the next interval."""
        while not stop.is_set():
            for read in (self.once, *self.probes):
                try:
                    await read()
                except (RedisError, OSError, TimeoutError, RetryableError) as exc:
                    log.warning("metrics_sample_failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every_s)

    async def once(self) -> None:
        events = await stats.event_ids(self.redis, self.max_events)
        found = await stats.event_stats(self.redis, self.group, events)
        if self.relay:
            self.metrics.relay_backlog.set(sum(s.backlog for s in found))
            return
        gauges = self.metrics.events
        gauges.show(found)
        gauges.dead_letters.set(await stats.dead_letter_depth(self.redis))
        records = await stats.reconcile_records(self.redis, events)
        gauges.show_reconciles(records, Report.BREACH_KINDS)
