"""The retry policy and the one object that decides, answer by answer, whether a call is
done or waits and tries again. The sync and async clients differ only in how they send
and sleep; every decision is made here.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from couponrush.client.outcome import NETWORK_ERROR, Attempt, Reply
from couponrush.core.retry import BASE_S, CAP_S, RETRYABLE_STATUSES, backoff_s, retry_after_s


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_attempts`` is the retry budget (tries in all, the first included);
    ``deadline_s`` bounds a whole call, waits included; ``timeout_s`` one request."""

    max_attempts: int = 20
    deadline_s: float = 60.0
    timeout_s: float = 10.0
    base_s: float = BASE_S
    cap_s: float = CAP_S


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class Retrier:
    """Records every try of one call and says how long to wait before the next, or None
    when the last answer stands: a definite one, or the budget or deadline is spent.

    Only 429, 503 and failures to get an answer are retried (issuing is idempotent per
    user, so a retry of a win returns the same coupon). A wait is never shorter than the
    ``Retry-After`` the server sent; a wait that would end past the deadline is not taken.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        request_id: str,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy
        self.request_id = request_id
        self._clock, self._rng = clock, rng
        self._deadline = clock() + policy.deadline_s
        self._attempts: list[Attempt] = []
        self._sent_at = 0.0
        self._status = 0
        self._body: dict[str, Any] = {}

    def start(self) -> float:
        """A try goes out now; its timeout: the policy's, or what is left of the deadline."""
        self._sent_at = now = self._clock()
        return max(0.001, min(self.policy.timeout_s, self._deadline - now))

    def answered(self, response: httpx.Response) -> float | None:
        self._status, self._body = response.status_code, _body(response)
        result = str(self._body.get("result") or f"http_{response.status_code}")
        floor = retry_after_s(response.headers.get("retry-after"), time.time())
        return self._record(response.status_code, result, floor, None)

    def failed(self, error: Exception) -> float | None:
        self._status, self._body = 0, {}
        return self._record(0, NETWORK_ERROR, 0.0, type(error).__name__)

    def reply(self) -> Reply:
        return Reply(self._status, self._body, self.request_id, tuple(self._attempts))

    def _record(self, status: int, result: str, floor: float, error: str | None) -> float | None:
        answered_at = self._clock()
        wait = self._wait(status, floor)
        self._attempts.append(
            Attempt(status, result, floor, wait or 0.0, self._sent_at, answered_at, error)
        )
        return wait

    def _wait(self, status: int, floor: float) -> float | None:
        if status != 0 and status not in RETRYABLE_STATUSES:
            return None
        tries = len(self._attempts) + 1
        if tries >= self.policy.max_attempts:
            return None
        wait = backoff_s(tries - 1, floor, self._rng(), self.policy.base_s, self.policy.cap_s)
        return wait if self._clock() + wait < self._deadline else None
