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

from couponrush.invariants import Answer

RETRYABLE = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 8
    base_s: float = 0.05
    cap_s: float = 2.0

    def delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.isdigit():
            # Spread the herd over the window the server asked for.
            return float(retry_after) * (0.5 + random.random() / 2)
        return random.uniform(0, min(self.cap_s, self.base_s * 2**attempt))


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
                if answer.status not in RETRYABLE:
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
