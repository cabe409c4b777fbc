"""The set check after a fault, in the style of Jepsen: what the clients were told against
what the database and Redis hold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from couponrush.db.repository import IssuanceRow


@dataclass
class SetCheck:
    told: int  # clients told issued / already_issued
    rows: int
    lost: list[str] = field(default_factory=list)  # told a coupon, no such row
    phantom: list[str] = field(default_factory=list)  # a row, yet told no coupon
    # a row for a client whose last answer said nothing (503, timeout): the win happened,
    # its answer was lost; not a breach, but counted
    unacknowledged: list[str] = field(default_factory=list)
    duplicate_slots: list[int] = field(default_factory=list)
    oversell: list[str] = field(default_factory=list)
    reconcile: dict[str, int] = field(default_factory=dict)
    # Answers that told a win Redis no longer holds with that slot (a failover forgot it),
    # each as the history has it: when, who, which result code and slot.
    acknowledged_lost: list[Answer] = field(default_factory=list)
    # The longest a win waited for its row (issued in Redis to persisted in PostgreSQL):
    # how long the pipeline stood still; None without rows.
    longest_wait_s: float | None = None

    @property
    def ok(self) -> bool:
        breaches = (self.lost, self.phantom, self.duplicate_slots, self.oversell)
        return not (any(breaches) or self.reconcile or self.acknowledged_lost)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "told": self.told,
            "rows": self.rows,
            "lost": self.lost[:20],
            "acknowledged_then_lost": len(self.acknowledged_lost),
            "acknowledged_then_lost_answers": [a._asdict() for a in self.acknowledged_lost[:50]],
            "phantom": self.phantom[:20],
            "unacknowledged": len(self.unacknowledged),
            "duplicate_slots": self.duplicate_slots[:20],
            "oversell": self.oversell,
            "reconcile": self.reconcile,
            "longest_win_to_row_s": self.longest_wait_s,
        }


class Answer(NamedTuple):
    """One answer of a history: seconds since the opening, the user, the HTTP status (0: a
    network error), the result code and the slot it named (0: none)."""

    at_s: float
    user: str
    status: int
    result: str
    slot: int


WIN_RESULTS = frozenset({"issued", "already_issued"})


def acknowledged_then_lost(
    history: Iterable[Answer], redis_slots: Mapping[str, int]
) -> list[Answer]:
    """Every answer that told a win Redis does not hold (with that slot) at the end."""
    return [a for a in history if a.result in WIN_RESULTS and redis_slots.get(a.user) != a.slot]


def check(
    stock: int,
    told: Mapping[str, tuple[int, str]],
    undecided: Sequence[str],
    rows: Sequence[IssuanceRow],
    redis_slots: Mapping[str, int],
    reconcile: Mapping[str, int],
    history: Iterable[Answer] = (),
) -> SetCheck:
    """``told``: user -> (slot, code) as the client heard it; ``undecided``: users whose
    final answer said nothing; ``redis_slots``: Redis's winners; ``reconcile``: breaches;
    ``history``: every answer, to name those that told a win Redis forgot."""
    stored = {r.user_id: (r.slot, r.coupon_code) for r in rows}
    result = SetCheck(len(told), len(rows), reconcile=dict(reconcile))
    result.acknowledged_lost = acknowledged_then_lost(history, redis_slots)
    result.lost = sorted(u for u, coupon in told.items() if stored.get(u) != coupon)
    maybe = set(undecided)
    result.unacknowledged = sorted(u for u in stored if u not in told and u in maybe)
    result.phantom = sorted(u for u in stored if u not in told and u not in maybe)
    result.duplicate_slots = sorted(_twice([r.slot for r in rows]) | _twice(redis_slots.values()))
    waits = [(r.persisted_at - r.issued_at).total_seconds() for r in rows]
    result.longest_wait_s = round(max(waits), 2) if waits else None
    counted = (
        ("clients told a win", len(told)),
        ("database rows", len(rows)),
        ("Redis winners", len(redis_slots)),
    )
    for where, count in counted:
        if count > stock:
            result.oversell.append(f"{count} {where} for {stock} coupons")
    return result


def _twice(slots: Iterable[int]) -> set[int]:
    return {slot for slot, n in Counter(slots).items() if n > 1}
