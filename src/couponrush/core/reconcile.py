"""Reconciliation as a pure diff: Redis winners and stock versus database rows (DESIGN §9),
and optionally versus the wins clients were told.

A live sale has wins on their way to the database. The diff compares a consistent cut:
a winner whose slot is at or above the pipeline's watermark (the lowest slot of any win
not yet confirmed persisted) is in flight, not missing.

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
    # Wins at or above this slot were on their way to the database (not compared); None:
    # nothing was in flight.
    watermark: int | None = None
    in_flight: int = 0

    BREACH_KINDS = (
        "missing_in_db",
        "missing_in_redis",
        "slot_conflicts",
        "bad_codes",
        "oversell",
        "stock_mismatch",
        "lost_acknowledged",
    )

    def breaches(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in self.BREACH_KINDS if getattr(self, k)}

    @property
    def ok(self) -> bool:
        return not self.breaches()

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "breaches": self.breaches()}


def expected_stock(total: int, slots: Sequence[int]) -> int:
    """The counter that hands out the next unused slot: total - the highest slot given.

    The one formula of reconcile, repair and restore: after a restore that lost slots the
    counter resumes above the gap, so a lost slot is never handed out again."""
    return max(0, total - max(len(slots), max(slots, default=0)))


def in_flight(slot: int, watermark: int | None) -> bool:
    return watermark is not None and slot >= watermark


def unconfirmed(
    winners: Mapping[str, tuple[int, int]], rows: Sequence[DbRow], watermark: int | None
) -> list[str]:
    """Winners below the watermark that ``rows`` lack: persisted since the rows were read,
    or missing. The caller reads them once more before they count as missing."""
    held = {r.user_id for r in rows}
    return sorted(
        u for u, (slot, _) in winners.items() if u not in held and not in_flight(slot, watermark)
    )


def diff(
    event_id: str,
    total: int,
    stock: int | None,
    winners: Mapping[str, tuple[int, int]],
    rows: Sequence[DbRow],
    code: Callable[[int, str], str],
    claims: Sequence[Claim] = (),
    watermark: int | None = None,
) -> Report:
    """``winners``: Redis participants, user -> (slot, issued_at_ms), read with ``stock``
    at one moment and after ``rows``; ``code(slot, user)`` is the coupon code the client
    was told; ``claims``: wins clients say they were told; ``watermark``: see the module."""
    report = Report(event_id, total, stock, len(winners), len(rows), watermark=watermark)
    by_user = {r.user_id: r for r in rows}
    report.missing_in_db = unconfirmed(winners, rows, watermark)
    report.in_flight = sum(1 for slot, _ in winners.values() if in_flight(slot, watermark))
    report.missing_in_redis = sorted(set(by_user) - set(winners))
    for user in sorted(set(winners) & set(by_user)):
        if winners[user][0] != by_user[user].slot:
            report.slot_conflicts.append(
                f"{user}: Redis slot {winners[user][0]}, database slot {by_user[user].slot}"
            )
    taken = Counter(slot for slot, _ in winners.values())
    report.slot_conflicts += [
        f"slot {s}: {n} Redis winners" for s, n in sorted(taken.items()) if n > 1
    ]
    report.bad_codes = [r.user_id for r in rows if r.coupon_code != code(r.slot, r.user_id)]
    report.oversell = _oversell(total, winners, rows)
    proven = [c for c in claims if c.coupon_code == code(c.slot, c.user_id)]
    report.unproven_claims = sorted({c.user_id for c in claims} - {c.user_id for c in proven})
    report.lost_acknowledged = sorted(
        {c.user_id for c in proven if winners.get(c.user_id, (0, 0))[0] != c.slot}
    )
    expected = expected_stock(total, [slot for slot, _ in winners.values()])
    if stock is None or stock != expected:
        report.stock_mismatch.append(
            f"stock counter {stock}, expected {expected} (total {total} - the highest slot given)"
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


# (user_id, slot, issued_at_ms): one win as a holder of it knows it
Held = tuple[str, int, int]


@dataclass
class Merged:
    """The winners of an event from every holder of its wins (see ``merge``)."""

    winners: dict[str, tuple[int, int]]
    # Every slot some holder has handed out (each once), the ones a conflict set aside
    # included.
    slots: set[int]
    conflicts: list[str]


def merge(*holders: Sequence[Held]) -> Merged:
    """One winner per user, the first holder's word first (the database, then the wins
    on their way, then what Redis still holds). A user with two slots, or a slot with two
    users, is a conflict: reported, and its slot still counts as handed out."""
    found = Merged({}, set(), [])
    by_slot: dict[int, str] = {}
    for holder in holders:
        for user, slot, at in holder:
            found.slots.add(slot)
            kept = found.winners.get(user)
            if kept is not None:
                if kept[0] != slot:
                    found.conflicts.append(f"{user}: slot {kept[0]}, also slot {slot}")
                continue
            if by_slot.get(slot, user) != user:
                found.conflicts.append(f"slot {slot}: {by_slot[slot]}, also {user}")
            by_slot.setdefault(slot, user)
            found.winners[user] = (slot, at)
    return found
