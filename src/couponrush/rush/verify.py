"""The end-of-run check: what the clients were told against what the servers hold."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis

from couponrush import invariants
from couponrush.keys import decode_participant, event_keys
from couponrush.rush.plan import RushPlan
from couponrush.rush.runner import Merged


@dataclass
class Verification:
    breaches: list[str] = field(default_factory=list)
    redis_winners: int = 0
    stock_left: int = 0

    @property
    def ok(self) -> bool:
        return not self.breaches


def redis_truth(redis_url: str, event_id: str) -> tuple[dict[str, int], int]:
    keys = event_keys(event_id)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        pipe = client.pipeline(transaction=True)
        pipe.hgetall(keys.participants)
        pipe.get(keys.stock)
        raw, stock = pipe.execute()
    finally:
        client.close()
    return {u: decode_participant(v)[0] for u, v in raw.items()}, int(stock or 0)


def run_breaches(plan: RushPlan, merged: Merged, expected_stock: int) -> list[str]:
    """What the run itself shows, before asking any server."""
    breaches = []
    if merged.unfinished:
        breaches.append(f"{merged.unfinished} clients got no final answer in time")
    errors = {s: n for s, n in merged.statuses.items() if s >= 500 and s != 503}
    if errors:
        breaches.append(f"server errors other than 503: {errors}")
    wanted = min(expected_stock, plan.clients)
    if merged.final.get("issued", 0) != wanted:
        breaches.append(f"{merged.final.get('issued', 0)} clients told 'issued', expected {wanted}")
    return breaches


def verify(plan: RushPlan, merged: Merged, redis_url: str, expected_stock: int) -> Verification:
    winners, stock_left = redis_truth(redis_url, plan.event_id)
    told = [invariants.Answer(user, 201, "issued", slot, code)
            for user, slot, code in merged.winners]  # fmt: skip
    breaches = run_breaches(plan, merged, expected_stock)
    breaches += invariants.check(expected_stock, told, winners, stock_left,
                                 expect_sold_out=plan.clients >= expected_stock)  # fmt: skip
    return Verification(breaches, len(winners), stock_left)
