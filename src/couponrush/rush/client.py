"""A Python client of the HTTP API that always comes back with one final outcome.

It honours Retry-After on 429/503 and retries network errors with capped exponential
backoff and full jitter; retrying is safe because issuing is idempotent per user.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from couponrush.core.retry import BASE_S, CAP_S, RETRYABLE_STATUSES, backoff_s
from couponrush.rush.oracle import Answer


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 8
    base_s: float = BASE_S
    cap_s: float = CAP_S

    def delay(self, attempt: int, retry_after: str | None) -> float:
        # Spread the herd over the window the server asked for.
        seconds = float(retry_after) if retry_after and retry_after.isdigit() else 0.0
        return backoff_s(attempt, seconds, random.random(), self.base_s, self.cap_s)


class CouponClient:
    def __init__(self, http: aiohttp.ClientSession, policy: RetryPolicy | None = None) -> None:
        self._http = http
        self._policy = policy or RetryPolicy()

    async def issue(
        self, event_id: str, user_id: str, headers: Mapping[str, str] | None = None
    ) -> Answer:
        policy = self._policy
        answer = Answer(user_id, 0, "no_answer")
        for attempt in range(policy.attempts):
            retry_after = None
            try:
                async with self._http.post(
                    f"/v1/events/{event_id}/issue", json={"user_id": user_id}, headers=headers
                ) as response:
                    answer = to_answer(user_id, response.status, await _json(response))
                    retry_after = response.headers.get("retry-after")
            except (aiohttp.ClientError, TimeoutError) as exc:
                answer = Answer(user_id, 0, f"network_error:{type(exc).__name__}")
            else:
                if answer.status not in RETRYABLE_STATUSES:
                    return answer
            if attempt + 1 < policy.attempts:
                await asyncio.sleep(policy.delay(attempt, retry_after))
        return answer


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except ValueError:
        return {"result": "unparseable_body"}
    return body if isinstance(body, dict) else {"result": "unparseable_body"}


def to_answer(user_id: str, status: int, body: dict[str, Any]) -> Answer:
    return Answer(
        user_id=user_id,
        status=status,
        result=str(body.get("result", "")),
        slot=body.get("slot"),
        coupon_code=body.get("coupon_code"),
    )
