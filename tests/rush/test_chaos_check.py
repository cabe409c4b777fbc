"""The chaos set check: each kind of breach is seen, and an unacknowledged win is not one;
the answers that told a win a failover forgot; when wins flow again after a fault; the
longest win-to-row wait; a fault whose own check failed fails its scenario."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from couponrush.db.repository import IssuanceRow
from couponrush.rush.chaos.check import Answer, check
from couponrush.rush.chaos.faults import KAFKA_NETWORK
from couponrush.rush.chaos.scenario import SHORT, Outcome, wins_again
from couponrush.rush.chaos.table import markdown

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
    more = check(1, told, [], [row("a", 1)], {"a": 1}, {})  # two told a win, one coupon
    assert more.oversell == ["2 clients told a win for 1 coupons"]
    assert not result.ok


def test_an_answer_that_told_a_win_redis_forgot_is_named_with_its_result_code() -> None:
    history = [
        Answer(1.0, "a", 201, "issued", 1),
        Answer(1.5, "b", 503, "unavailable", 0),
        Answer(2.0, "b", 200, "already_issued", 2),  # the failover forgot it
        Answer(2.5, "c", 201, "issued", 3),  # Redis holds c with another slot
    ]
    told = {"a": (1, "C1"), "b": (2, "C2"), "c": (3, "C3")}
    rows = [row("a", 1), row("b", 2), row("c", 3)]
    result = check(3, told, [], rows, {"a": 1, "c": 4}, {}, history)
    assert [(a.user, a.result) for a in result.acknowledged_lost] == [
        ("b", "already_issued"),
        ("c", "issued"),
    ]
    assert result.to_json()["acknowledged_then_lost"] == 2
    assert not result.ok


def test_wins_flow_again_after_the_last_503_of_the_fault() -> None:
    history = [
        Answer(0.5, "a", 201, "issued", 1),
        Answer(1.2, "b", 503, "unavailable", 0),
        Answer(2.9, "c", 503, "unavailable", 0),
        Answer(3.1, "d", 201, "issued", 2),
        Answer(9.0, "e", 503, "overloaded", 0),  # after the fault's window: not counted
    ]
    assert wins_again(history, fault_s=1.0, until_s=5.0) == 2.1
    assert wins_again(history[:1], fault_s=1.0, until_s=5.0) is None  # no win after it


def test_the_longest_wait_and_a_failed_fault_check_are_reported() -> None:
    late = IssuanceRow("b", 2, "C2", NOW, NOW + timedelta(seconds=14.5))
    result = check(
        2, {"a": (1, "C1"), "b": (2, "C2")}, [], [row("a", 1), late], {"a": 1, "b": 2}, {}
    )
    assert result.ok
    assert result.to_json()["longest_win_to_row_s"] == 14.5
    failed = Outcome(KAFKA_NETWORK[0], SHORT, result, 0, 0.2, fault_failed="no election came")
    assert not failed.passed
    assert failed.to_json()["ok"] is False
    assert failed.to_json()["fault_failed"] == "no election came"
    assert "**FAILED**" in markdown([failed])
