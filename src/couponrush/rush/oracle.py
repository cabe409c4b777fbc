"""The oracle of the tests and the load harness: the invariants of DESIGN §1, checked
over plain observed values (pure). The invariants are enforced elsewhere: by issue.lua,
the database's constraints and the consumer; this only checks that they held."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

WIN_RESULTS = frozenset({"issued", "already_issued"})
KNOWN_RESULTS = WIN_RESULTS | {
    "sold_out",
    "not_found",
    "not_open",
    "closed",
    "rate_limited",
    "unavailable",
    "overloaded",
    "not_admitted",
}


@dataclass(frozen=True, slots=True)
class Answer:
    """The final answer one client got (status 0 = no answer at all)."""

    user_id: str
    status: int
    result: str
    slot: int | None = None
    coupon_code: str | None = None


def check(
    total: int,
    answers: Iterable[Answer],
    winners: Mapping[str, int],
    stock_left: int,
    *,
    expect_sold_out: bool = False,
) -> list[str]:
    """Every breach of the invariants, as sentences; an empty list means all hold.

    ``winners`` is Redis's participants (user -> slot), ``stock_left`` its counter.
    """
    breaches: list[str] = []
    slots = sorted(winners.values())
    if len(winners) > total:
        breaches.append(f"oversell: {len(winners)} winners for {total} coupons")
    if stock_left < 0 or stock_left + len(winners) != total:
        breaches.append(f"stock counter {stock_left} + {len(winners)} winners != {total}")
    if len(set(slots)) != len(slots):
        breaches.append("a slot is held by more than one user")
    if slots and (slots[0] < 1 or slots[-1] > total):
        breaches.append(f"slot out of 1..{total}: {slots[0]}..{slots[-1]}")
    if expect_sold_out and slots != list(range(1, total + 1)):
        breaches.append(f"sold out, yet slots are not exactly 1..{total}")
    breaches.extend(_check_answers(answers, winners))
    return breaches


def _check_answers(answers: Iterable[Answer], winners: Mapping[str, int]) -> list[str]:
    breaches: list[str] = []
    told: dict[str, set[tuple[int | None, str | None]]] = defaultdict(set)
    issued_count: dict[str, int] = defaultdict(int)
    for a in answers:
        if a.status == 0 or (a.status >= 500 and a.status != 503):
            breaches.append(f"{a.user_id}: no definite answer (status {a.status})")
        elif a.result not in KNOWN_RESULTS:
            breaches.append(f"{a.user_id}: unknown result {a.result!r}")
        if a.result in WIN_RESULTS:
            told[a.user_id].add((a.slot, a.coupon_code))
            issued_count[a.user_id] += a.result == "issued"
        elif a.result == "sold_out" and a.user_id in winners:
            breaches.append(f"{a.user_id}: a winner was told sold_out")
    for user, coupons in told.items():
        if len(coupons) > 1:
            breaches.append(f"{user}: told {len(coupons)} different coupons")
        if issued_count[user] > 1:
            breaches.append(f"{user}: told 'issued' {issued_count[user]} times")
        slot = next(iter(coupons))[0]
        if winners.get(user) != slot:
            breaches.append(f"{user}: told slot {slot}, Redis holds {winners.get(user)}")
    return breaches
