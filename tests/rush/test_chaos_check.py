"""The chaos set check: each kind of breach is seen, and an unacknowledged win is not one."""

from __future__ import annotations

from datetime import UTC, datetime

from couponrush.db.repository import IssuanceRow
from couponrush.rush.chaos.check import check

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def row(user: str, slot: int, code: str | None = None) -> IssuanceRow:
    return IssuanceRow(user, slot, code or f"C{slot}", NOW, NOW)


def test_a_consistent_run_passes_and_an_unacknowledged_win_is_counted_not_blamed() -> None:
    told = {"a": (1, "C1"), "b": (2, "C2")}
    rows = [row("a", 1), row("b", 2), row("c", 3)]  # c's answer was a 503, yet it won
    result = check(3, told, ["c"], rows, {"a": 1, "b": 2, "c": 3}, {})
    assert result.ok
    assert result.unacknowledged == ["c"]


def test_every_kind_of_breach_is_reported() -> None:
    told = {"a": (1, "C1"), "b": (2, "C2")}
    rows = [row("a", 1, "forged"), row("x", 2), row("y", 2)]
    result = check(2, told, [], rows, {"a": 1, "b": 2, "x": 2}, {"missing_in_db": 1})
    assert result.lost == ["a", "b"]  # a's code differs, b has no row
    assert result.phantom == ["x", "y"]  # rows for clients told no coupon
    assert result.duplicate_slots == [2]
    assert result.oversell == ["3 database rows for 2 coupons", "3 Redis winners for 2 coupons"]
    assert not result.ok
