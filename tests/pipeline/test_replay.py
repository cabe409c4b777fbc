"""A dead letter replayed with fixes."""

from __future__ import annotations

import pytest

from couponrush.core.errors import BadMessage
from couponrush.core.letters import DeadLetter
from couponrush.core.win import Win
from couponrush.pipeline.replay import fixed_win, parse_fixes

FIELDS = {"user_id": "u1", "slot": "3", "issued_at": "1700000000000", "request_id": "r"}
WIN = Win("e1", "u1", 3, 1_700_000_000_000, "r")


def test_replay_applies_fixes() -> None:
    payload = {**FIELDS, "slot": "two"}
    letter = DeadLetter("e1", payload, "parse", "bad", 1, "stream", id="1-0", failed_at_ms=0)
    assert fixed_win(letter, parse_fixes(["slot=3"])) == WIN
    with pytest.raises(BadMessage):
        parse_fixes(["slot"])
