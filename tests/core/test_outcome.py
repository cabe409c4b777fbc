from __future__ import annotations

import pytest

from couponrush.core import outcome as outcomes
from couponrush.web.problems import STATUS


@pytest.mark.parametrize(
    ("reply", "status", "result", "slot"),
    [
        (["ISSUED", 7, 1700000000000], 201, "issued", 7),
        ([b"DUPLICATE", 3, 1700000000000], 200, "already_issued", 3),
        (["SOLD_OUT"], 410, "sold_out", 0),
        (["NOT_OPEN", 1700000000000], 409, "not_open", 0),
        (["CLOSED", 1700000000000], 409, "closed", 0),
        (["NOT_FOUND"], 404, "not_found", 0),
    ],
)
def test_every_reply_maps_to_one_outcome(
    reply: list[object], status: int, result: str, slot: int
) -> None:
    outcome = outcomes.from_reply(reply)
    assert (STATUS[outcome.result], outcome.result, outcome.slot) == (status, result, slot)
    assert outcome.is_win == (slot > 0)


def test_window_outcomes_carry_the_boundary() -> None:
    assert outcomes.from_reply(["NOT_OPEN", 123]).when_ms == 123
    assert outcomes.from_reply(["CLOSED", 456]).when_ms == 456


def test_an_unknown_reply_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="unexpected reply"):
        outcomes.from_reply(["SURPRISE"])
