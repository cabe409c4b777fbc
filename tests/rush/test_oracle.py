from __future__ import annotations

from couponrush.rush.oracle import Answer, check


def _sold_out_world() -> tuple[list[Answer], dict[str, int]]:
    winners = {"a": 1, "b": 2, "c": 3}
    answers = [
        Answer("a", 201, "issued", 1, "A"),
        Answer("a", 200, "already_issued", 1, "A"),
        Answer("b", 201, "issued", 2, "B"),
        Answer("c", 201, "issued", 3, "C"),
        Answer("d", 410, "sold_out"),
        Answer("e", 503, "unavailable"),
    ]
    return answers, winners


def test_a_consistent_world_has_no_breach() -> None:
    answers, winners = _sold_out_world()
    assert check(3, answers, winners, 0, expect_sold_out=True) == []


def test_oversell_and_a_wrong_stock_counter_are_breaches() -> None:
    answers, winners = _sold_out_world()
    winners["z"] = 4
    breaches = check(3, answers, winners, 0)
    assert any("oversell" in b for b in breaches)
    assert any("stock counter" in b for b in breaches)


def test_a_shared_or_out_of_range_slot_is_a_breach() -> None:
    assert any("more than one user" in b for b in check(3, [], {"a": 1, "b": 1}, 1))
    assert any("out of 1..3" in b for b in check(3, [], {"a": 0, "b": 2}, 1))


def test_sold_out_must_fill_every_slot() -> None:
    assert any("exactly 1..3" in b for b in check(3, [], {"a": 1, "b": 2}, 1, expect_sold_out=True))


def test_two_coupons_for_one_user_or_two_issued_answers_are_breaches() -> None:
    winners = {"a": 1}
    answers = [Answer("a", 201, "issued", 1, "A"), Answer("a", 201, "issued", 2, "B")]
    breaches = check(2, answers, winners, 1)
    assert any("different coupons" in b for b in breaches)
    assert any("'issued' 2 times" in b for b in breaches)


def test_a_winner_told_sold_out_or_a_slot_redis_lacks_are_breaches() -> None:
    answers = [Answer("a", 410, "sold_out"), Answer("b", 201, "issued", 2, "B")]
    breaches = check(2, answers, {"a": 1}, 1)
    assert any("winner was told sold_out" in b for b in breaches)
    assert any("b: told slot 2, Redis holds None" in b for b in breaches)


def test_no_answer_a_500_or_an_unknown_code_are_breaches() -> None:
    answers = [Answer("a", 0, "no_answer"), Answer("b", 500, "oops"), Answer("c", 200, "weird")]
    breaches = check(1, answers, {}, 1)
    assert len(breaches) == 3
