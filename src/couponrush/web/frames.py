"""One frame of the live dashboard: an event's numbers at one moment, with rates since
the frame before. Each number comes from one small function, so that the gateway's and
the pipeline's own figures can replace the stand-ins below when they are exposed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from couponrush.core.event import rfc3339_ms
from couponrush.store import results
from couponrush.store.client import RedisClient
from couponrush.store.events import EventStore
from couponrush.store.monitor import GroupState, PipelineState, pipeline_state
from couponrush.web.routes import event_body

Frame = dict[str, Any]
# The app's own answers that tell a client to come back later.
APP_THROTTLED = {"app_429": ("rate_limited",), "app_503": ("overloaded", "unavailable")}
Sample = tuple[float, int, dict[str, float]]  # monotonic time, issued, results so far


def gateway_throttled_per_s() -> dict[str, float | None]:
    """The gateway's own 429/503 per second: unknown until the gateway exposes
    ``couponrush_gateway_responses_total{status}`` at /gateway/metrics."""
    return {"gateway_429": None, "gateway_503": None}


def consumer_lag_s(state: PipelineState, now_ms: int, queue: str) -> float | None:
    """Age of the oldest win the consumer has not acknowledged (stream mode). In Kafka
    mode the consumer reads the topic, whose lag the pipeline's metrics will tell."""
    if queue != "stream":
        return None
    oldest = state.oldest_unacked_ms
    return 0.0 if oldest is None else max(0, now_ms - oldest) / 1000


def _per_s(now: float, before: float, value: float, earlier: float) -> float:
    return round(max(0.0, value - earlier) / max(now - before, 1e-3), 2)


class FrameReader:
    def __init__(
        self,
        events: EventStore,
        redis: RedisClient,
        reader_group: str,
        queue: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._events, self._redis = events, redis
        self._group, self._queue, self._clock = reader_group, queue, clock
        self._previous: dict[str, Sample] = {}

    async def __call__(self, event_id: str) -> Frame:
        view = await self._events.get(event_id)
        if view is None:
            return {"result": "not_found", "detail": "No event with this id."}
        state = await pipeline_state(self._redis, event_id, self._group)
        # The app workers' answers about this event (each adds its own about once a second).
        sample = (self._clock(), view.issued, await results.tally(self._redis, event_id))
        rates = self._rates(event_id, sample)
        return {
            "result": "ok",
            "at": rfc3339_ms(view.now_ms),
            "event": event_body(view, "ok"),
            **rates,
            "results_total": sample[2],
            "outbox": {
                "length": state.outbox_length,
                "backlog": state.backlog,
                "groups": [_group(g) for g in state.groups],
            },
            "consumer_lag_s": consumer_lag_s(state, view.now_ms, self._queue),
            "dlq_depth": state.dlq_depth,
        }

    def _rates(self, event_id: str, sample: Sample) -> Frame:
        before = self._previous.get(event_id)
        self._previous[event_id] = sample
        now, issued, counts = sample
        if before is None:  # the first frame has nothing to compare with
            return {
                "issued_per_s": None,
                "results_per_s": {},
                "throttled_per_s": {k: None for k in APP_THROTTLED} | gateway_throttled_per_s(),
            }
        then, issued_then, counts_then = before
        per_s = {r: _per_s(now, then, n, counts_then.get(r, 0.0)) for r, n in counts.items()}
        throttled = {
            k: round(sum(per_s.get(r, 0.0) for r in results), 2)
            for k, results in APP_THROTTLED.items()
        }
        return {
            "issued_per_s": _per_s(now, then, issued, issued_then),
            "results_per_s": per_s,
            "throttled_per_s": throttled | gateway_throttled_per_s(),
        }


def _group(group: GroupState) -> dict[str, Any]:
    return {"name": group.name, "lag": group.lag, "pending": group.pending}
