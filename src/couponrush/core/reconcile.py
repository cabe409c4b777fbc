"""Reconciliation as a pure diff: Redis winners and stock versus database rows (DESIGN §9),
and optionally versus the wins clients were told.

A win that a failover forgot before it was replicated or persisted leaves no trace in
Redis or the database; only the client holds it. Its coupon code proves it (an HMAC of
event, slot and user), so claims with valid codes are checked too: each one Redis does
not hold with that slot is a lost acknowledged win."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class DbRow:
    user_id: str
    slot: int
    coupon_code: str


@dataclass(frozen=True, slots=True)
class Claim:
    """A win a client was told, with the coupon code that proves it."""

    user_id: str
    slot: int
    coupon_code: str


def claims_from_json(doc: object) -> list[Claim]:
    """Claims from a JSON list of {"user_id", "slot", "coupon_code"}."""
    if not isinstance(doc, list):
        raise ValueError("expected a JSON list of {user_id, slot, coupon_code}")
    return [Claim(str(c["user_id"]), int(c["slot"]), str(c["coupon_code"])) for c in doc]


@dataclass
class Report:
    event_id: str
    total: int
    stock: int | None
    redis_winners: int
    db_rows: int
    missing_in_db: list[str] = field(default_factory=list)
    missing_in_redis: list[str] = field(default_factory=list)
    slot_conflicts: list[str] = field(default_factory=list)
    bad_codes: list[str] = field(default_factory=list)
    oversell: list[str] = field(default_factory=list)
    stock_mismatch: list[str] = field(default_factory=list)
    lost_acknowledged: list[str] = field(default_factory=list)
    # Claims whose code is not ours: not a breach, and not counted as a win.
    unproven_claims: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    BREACH_KINDS = ("missing_in_db", "missing_in_redis", "slot_conflicts", "bad_codes",
                    "oversell", "stock_mismatch", "lost_acknowledged")  # fmt: skip

    def breaches(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in self.BREACH_KINDS if getattr(self, k)}

    @property
    def ok(self) -> bool:
        return not self.breaches()

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "breaches": self.breaches()}


def expected_stock(total: int, slots: Sequence[int]) -> int:
    """The counter that hands out the next unused slot: total - the highest slot given."""
    return max(0, total - max(len(slots), max(slots, default=0)))


def diff(
    event_id: str, total: int, stock: int | None, winners: Mapping[str, tuple[int, int]],
    rows: Sequence[DbRow], code: Callable[[int, str], str], claims: Sequence[Claim] = (),
) -> Report:  # fmt: skip
    """``winners``: Redis participants, user -> (slot, issued_at_ms); ``code(slot, user)``
    is the coupon code the client was told; ``claims``: wins clients say they were told."""
    report = Report(event_id, total, stock, len(winners), len(rows))
    by_user = {r.user_id: r for r in rows}
    report.missing_in_db = sorted(set(winners) - set(by_user))
    report.missing_in_redis = sorted(set(by_user) - set(winners))
    for user in sorted(set(winners) & set(by_user)):
        if winners[user][0] != by_user[user].slot:
            report.slot_conflicts.append(
                f"{user}: Redis slot {winners[user][0]}, database slot {by_user[user].slot}"
            )
    taken = Counter(slot for slot, _ in winners.values())
    report.slot_conflicts += [f"slot {s}: {n} Redis winners" for s, n in sorted(taken.items())
                              if n > 1]  # fmt: skip
    report.bad_codes = [r.user_id for r in rows if r.coupon_code != code(r.slot, r.user_id)]
    report.oversell = _oversell(total, winners, rows)
    proven = [c for c in claims if c.coupon_code == code(c.slot, c.user_id)]
    report.unproven_claims = sorted({c.user_id for c in claims} - {c.user_id for c in proven})
    report.lost_acknowledged = sorted(
        {c.user_id for c in proven if winners.get(c.user_id, (0, 0))[0] != c.slot}
    )
    if stock is None or stock != total - len(winners):
        report.stock_mismatch.append(
            f"stock counter {stock} + {len(winners)} winners != total {total}"
        )
    return report


def _oversell(
    total: int, winners: Mapping[str, tuple[int, int]], rows: Sequence[DbRow]
) -> list[str]:
    out: list[str] = []
    if len(winners) > total:
        out.append(f"{len(winners)} Redis winners for {total} coupons")
    if len(rows) > total:
        out.append(f"{len(rows)} database rows for {total} coupons")
    high = max([s for s, _ in winners.values()] + [r.slot for r in rows], default=0)
    if high > total:
        out.append(f"slot {high} beyond total {total}")
    return out
