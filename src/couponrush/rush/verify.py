"""The end-of-run check: what the clients were told against what the servers hold."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from couponrush.core.codes import CodeSigner
from couponrush.core.reconcile import Claim
from couponrush.db.repository import IssuanceRow, Repository
from couponrush.pipeline import recovery
from couponrush.rush import oracle as invariants
from couponrush.rush.plan import RushPlan
from couponrush.rush.runner import Merged
from couponrush.settings import Settings
from couponrush.store import client
from couponrush.store.events import EventStore
from couponrush.store.scripts import Scripts

DRAIN_DEADLINE_S = 30.0


@dataclass
class Verification:
    breaches: list[str] = field(default_factory=list)
    redis_winners: int = 0
    stock_left: int = 0
    db_rows: int | None = None
    lag_ms: dict[str, float] = field(default_factory=dict)
    reconcile: dict[str, int] | None = None

    @property
    def ok(self) -> bool:
        return not self.breaches


def redis_truth(
    redis_url: str, event_id: str, mode: str = "standalone"
) -> tuple[dict[str, int], int]:
    """Winners (user -> slot) and the stock counter, read at one moment, in any mode."""
    return asyncio.run(_truth(redis_url, mode, event_id))


def _redis(redis_url: str, mode: str) -> client.RedisClient:
    settings = Settings.model_validate({"redis_url": redis_url, "redis_mode": mode})
    return client.connect(settings, 10.0)


async def _truth(redis_url: str, mode: str, event_id: str) -> tuple[dict[str, int], int]:
    redis = _redis(redis_url, mode)
    try:
        found, stock = await EventStore(redis, Scripts.from_package()).winners(event_id)
    finally:
        await redis.aclose()
    return {user: slot for user, (slot, _) in found.items()}, stock or 0


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


@dataclass(frozen=True)
class Stores:
    redis_url: str
    database_url: str | None = None
    coupon_secret: str = ""
    redis_mode: str = "standalone"


def verify(plan: RushPlan, merged: Merged, stores: Stores, expected_stock: int) -> Verification:
    winners, stock_left = redis_truth(stores.redis_url, plan.event_id, stores.redis_mode)
    told = [
        invariants.Answer(user, 201, "issued", slot, code) for user, slot, code in merged.winners
    ]
    breaches = run_breaches(plan, merged, expected_stock)
    breaches += invariants.check(
        expected_stock, told, winners, stock_left, expect_sold_out=plan.clients >= expected_stock
    )
    check = Verification(breaches, len(winners), stock_left)
    if stores.database_url:
        claims = [Claim(a.user_id, a.slot or 0, a.coupon_code or "") for a in told]
        rows, found = asyncio.run(_persisted(stores, plan.event_id, len(winners), claims))
        check.breaches += persisted_breaches(told, rows)
        check.breaches += [f"reconcile: {kind} x{n}" for kind, n in found.breaches().items()]
        check.db_rows, check.lag_ms = len(rows), lag_ms(rows)
        check.reconcile = found.breaches()
    return check


async def _persisted(
    stores: Stores, event_id: str, expected: int, claims: list[Claim]
) -> tuple[list[IssuanceRow], recovery.Report]:
    """The event's rows once the pipeline has drained (or what is there at the deadline),
    and what ``couponrush reconcile`` finds then."""
    assert stores.database_url
    db = await Repository.connect(stores.database_url)
    redis = _redis(stores.redis_url, stores.redis_mode)
    events = EventStore(redis, Scripts.from_package())
    try:
        deadline = time.monotonic() + DRAIN_DEADLINE_S
        rows = await db.issuances(event_id)
        while len(rows) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            rows = await db.issuances(event_id)
        signer = CodeSigner(stores.coupon_secret.encode())
        return rows, await recovery.reconcile(events, db, signer, event_id, claims)
    finally:
        await redis.aclose()
        await db.close()


def persisted_breaches(told: list[invariants.Answer], rows: list[IssuanceRow]) -> list[str]:
    """Invariant 3: every client told 'issued' has its row, with the slot and code it was told."""
    stored = {r.user_id: (r.slot, r.coupon_code) for r in rows}
    breaches = [
        f"{a.user_id}: told 'issued' but the database has {stored.get(a.user_id)}"
        for a in told
        if stored.get(a.user_id) != (a.slot, a.coupon_code)
    ]
    if len(rows) != len(told):
        breaches.append(f"the database holds {len(rows)} rows for {len(told)} winners")
    return breaches


def lag_ms(rows: list[IssuanceRow]) -> dict[str, float]:
    """Win-to-row lag: persisted_at minus issued_at (both stamped by the servers)."""
    lags = sorted((r.persisted_at - r.issued_at).total_seconds() * 1000 for r in rows)
    if not lags:
        return {}

    def pick(quantile: float) -> float:
        return round(lags[min(len(lags) - 1, int(quantile * len(lags)))], 1)

    return {"p50": pick(0.5), "p99": pick(0.99), "max": round(lags[-1], 1)}
