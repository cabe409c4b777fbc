"""The set check after a fault, in the style of Jepsen: what the clients were told against
what the database and Redis hold."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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

    @property
    def ok(self) -> bool:
        return not (self.lost or self.phantom or self.duplicate_slots or self.oversell
                    or self.reconcile)  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "told": self.told, "rows": self.rows, "lost": self.lost[:20],
                "phantom": self.phantom[:20], "unacknowledged": len(self.unacknowledged),
                "duplicate_slots": self.duplicate_slots[:20], "oversell": self.oversell,
                "reconcile": self.reconcile}  # fmt: skip


def check(stock: int, told: Mapping[str, tuple[int, str]], undecided: Sequence[str],
          rows: Sequence[IssuanceRow], redis_slots: Mapping[str, int],
          reconcile: Mapping[str, int]) -> SetCheck:  # fmt: skip
    """``told``: user -> (slot, code) as the client heard it; ``undecided``: users whose
    final answer said nothing; ``redis_slots``: Redis's winners; ``reconcile``: breaches."""
    stored = {r.user_id: (r.slot, r.coupon_code) for r in rows}
    result = SetCheck(len(told), len(rows), reconcile=dict(reconcile))
    result.lost = sorted(u for u, coupon in told.items() if stored.get(u) != coupon)
    maybe = set(undecided)
    result.unacknowledged = sorted(u for u in stored if u not in told and u in maybe)
    result.phantom = sorted(u for u in stored if u not in told and u not in maybe)
    result.duplicate_slots = sorted(_twice([r.slot for r in rows]) | _twice(redis_slots.values()))
    for where, count in (("database rows", len(rows)), ("Redis winners", len(redis_slots))):
        if count > stock:
            result.oversell.append(f"{count} {where} for {stock} coupons")
    return result


def _twice(slots: Iterable[int]) -> set[int]:
    return {slot for slot, n in Counter(slots).items() if n > 1}
