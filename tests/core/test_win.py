"""A win parses from the outbox and from Kafka, and conflicts are told from redeliveries."""

from __future__ import annotations

import pytest

from couponrush.core.errors import BadMessage
from couponrush.core.win import ExistingRow, Win, conflict_reason, parse_entry, parse_message

FIELDS = {"user_id": "u1", "slot": "3", "issued_at": "1700000000000", "request_id": "r"}
WIN = Win("e1", "u1", 3, 1_700_000_000_000, "r")


def test_an_outbox_entry_parses_to_a_win_and_back() -> None:
    assert parse_entry("e1", FIELDS) == WIN
    assert parse_entry("e1", WIN.outbox_fields()) == WIN
    assert parse_message(WIN.to_message()) == WIN


@pytest.mark.parametrize(
    "change",
    [
        {"slot": "x"},
        {"slot": "0"},
        {"slot": "-1"},
        {"user_id": ""},
        {"user_id": "a b"},
        {"issued_at": "soon"},
        {"slot": str(2**31)},
    ],
)
def test_bad_entries_are_permanent(change: dict[str, str]) -> None:
    with pytest.raises(BadMessage):
        parse_entry("e1", {**FIELDS, **change})


@pytest.mark.parametrize("value", [b"", b"not json", b"[1]", b'{"user_id": "u1"}', None])
def test_bad_messages_are_permanent(value: bytes | None) -> None:
    with pytest.raises(BadMessage):
        parse_message(value)


def test_conflicts_are_told_from_redeliveries() -> None:
    assert conflict_reason(WIN, [ExistingRow("u1", 3)]) is None
    assert "held by user 'u2'" in (conflict_reason(WIN, [ExistingRow("u2", 3)]) or "")
    assert "holds slot 4" in (conflict_reason(WIN, [ExistingRow("u1", 4)]) or "")
