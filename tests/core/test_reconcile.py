"""The reconciliation diff: every kind of breach, and the counter after a restore."""

from __future__ import annotations

from couponrush.core.reconcile import Claim, DbRow, claims_from_json, diff, expected_stock


def _code(slot: int, user: str) -> str:
    return f"{user}/{slot}"


def test_a_consistent_event_has_no_breach() -> None:
    winners = {"a": (1, 0), "b": (2, 0)}
    rows = [DbRow("a", 1, "a/1"), DbRow("b", 2, "b/2")]
    assert diff("e", 5, 3, winners, rows, _code).ok


def test_every_kind_of_breach_is_reported() -> None:
    winners = {"a": (1, 0), "b": (2, 0), "c": (2, 0), "d": (7, 0)}
    rows = [DbRow("a", 3, "a/3"), DbRow("x", 4, "forged"), DbRow("d", 7, "d/7")]
    claims = [Claim("a", 1, "a/1"), Claim("lost", 3, "lost/3"), Claim("z", 9, "guess")]
    report = diff("e", 3, 5, winners, rows, _code, claims)
    assert report.lost_acknowledged == ["lost"]
    assert report.unproven_claims == ["z"]
    assert report.missing_in_db == ["b", "c"]
    assert report.missing_in_redis == ["x"]
    assert len(report.slot_conflicts) == 2
    assert report.bad_codes == ["x"]
    assert report.oversell
    assert report.stock_mismatch
    assert set(report.to_json()["breaches"]) == set(report.BREACH_KINDS)


def test_the_stock_counter_resumes_after_the_highest_slot() -> None:
    assert expected_stock(10, [1, 2, 3]) == 7
    assert expected_stock(10, [1, 5]) == 5
    assert expected_stock(3, [1, 2, 3, 4]) == 0


def test_claims_are_read_from_json() -> None:
    doc = [{"user_id": "u", "slot": 2, "coupon_code": "c", "extra": 1}]
    assert claims_from_json(doc) == [Claim("u", 2, "c")]
