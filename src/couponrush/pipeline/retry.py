"""Capped exponential backoff with full jitter, only for retryable failures (tenacity)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_delay,
    wait_random_exponential,
)

from couponrush.pipeline.failures import is_retryable
from couponrush.pipeline.metrics import PipelineMetrics

log = structlog.get_logger(__name__)
# First waits are short (a blip passes quickly); later ones grow to the cap.
_FIRST_WAIT_S = 0.05
T = TypeVar("T")


async def retrying(
    op: Callable[[], Awaitable[T]],
    stage: str,
    metrics: PipelineMetrics,
    retry_for_s: float,
    cap_s: float,
) -> T:
    """``op()`` until it succeeds, fails permanently, or ``retry_for_s`` has passed.

    The last error is re-raised as is; the caller's batch stays unacknowledged.
    """

    def before_sleep(state: RetryCallState) -> None:
        metrics.retries.labels(stage).inc()
        exc = state.outcome.exception() if state.outcome else None
        log.warning("retrying", stage=stage, attempt=state.attempt_number, error=repr(exc))

    async for attempt in AsyncRetrying(
        retry=retry_if_exception(is_retryable),
        wait=wait_random_exponential(multiplier=_FIRST_WAIT_S, max=cap_s),
        stop=stop_after_delay(retry_for_s),
        before_sleep=before_sleep,
        reraise=True,
    ):
        with attempt:
            return await op()
    raise AssertionError("unreachable: tenacity re-raises or returns")
