"""The pure core: parsing, classifying failures, conflicts, the reconciliation diff."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
import orjson
import pytest
from confluent_kafka import KafkaError, KafkaException

from couponrush.errors import RetryableError
from couponrush.pipeline.dlq import DeadLetter
from couponrush.pipeline.failures import classify
from couponrush.pipeline.kafka_source import payload_of
from couponrush.pipeline.model import (
    BadMessage,
    ExistingRow,
    IntegrityConflict,
    Win,
    conflict_reason,
    parse_entry,
    parse_message,
)
from couponrush.pipeline.reconcile import DbRow, diff, expected_stock
from couponrush.pipeline.replay import fixed_win, parse_fixes

FIELDS = {"user_id": "u1", "slot": "3", "issued_at": "1700000000000", "request_id": "r"}
WIN = Win("e1", "u1", 3, 1_700_000_000_000, "r")


def test_an_outbox_entry_parses_to_a_win_and_back() -> None:
    assert parse_entry("e1", FIELDS) == WIN
    assert parse_entry("e1", WIN.outbox_fields()) == WIN
    assert parse_message(WIN.to_message()) == WIN


@pytest.mark.parametrize(
    "change",
    [{"slot": "x"}, {"slot": "0"}, {"slot": "-1"}, {"user_id": ""}, {"user_id": "a b"},
     {"issued_at": "soon"}, {"slot": str(2**31)}],
)  # fmt: skip
def test_bad_entries_are_permanent(change: dict[str, str]) -> None:
    with pytest.raises(BadMessage):
        parse_entry("e1", {**FIELDS, **change})


@pytest.mark.parametrize("value", [b"", b"not json", b"[1]", b'{"user_id": "u1"}', None])
def test_bad_messages_are_permanent(value: bytes | None) -> None:
    with pytest.raises(BadMessage):
        parse_message(value)


def test_payload_of_keeps_what_does_not_parse() -> None:
    assert payload_of(b"\xffjunk") == {"raw": "\ufffdjunk"}
    assert payload_of(orjson.dumps({"slot": 3})) == {"slot": "3"}


def test_conflicts_are_told_from_redeliveries() -> None:
    assert conflict_reason(WIN, [ExistingRow("u1", 3)]) is None
    assert "held by user 'u2'" in (conflict_reason(WIN, [ExistingRow("u2", 3)]) or "")
    assert "holds slot 4" in (conflict_reason(WIN, [ExistingRow("u1", 4)]) or "")


@pytest.mark.parametrize(
    ("exc", "verdict"),
    [(ConnectionRefusedError(), "retry"), (TimeoutError(), "retry"),
     (asyncpg.CannotConnectNowError(), "retry"), (asyncpg.AdminShutdownError(), "retry"),
     (RetryableError(), "retry"), (KafkaException(KafkaError(KafkaError._TRANSPORT)), "retry"),
     (BadMessage(), "permanent"), (IntegrityConflict(), "permanent"),
     (asyncpg.UniqueViolationError(), "permanent"), (asyncpg.DataError(), "permanent"),
     (KafkaException(KafkaError(KafkaError._FATAL, fatal=True)), "bug"),
     (TypeError(), "bug")],
)  # fmt: skip
def test_failures_are_classified(exc: BaseException, verdict: str) -> None:
    assert classify(exc) == verdict


def _code(slot: int, user: str) -> str:
    return f"{user}/{slot}"


def test_a_consistent_event_has_no_breach() -> None:
    winners = {"a": (1, 0), "b": (2, 0)}
    rows = [DbRow("a", 1, "a/1"), DbRow("b", 2, "b/2")]
    assert diff("e", 5, 3, winners, rows, _code).ok


def test_every_kind_of_breach_is_reported() -> None:
    winners = {"a": (1, 0), "b": (2, 0), "c": (2, 0), "d": (7, 0)}
    rows = [DbRow("a", 3, "a/3"), DbRow("x", 4, "forged"), DbRow("d", 7, "d/7")]
    report = diff("e", 3, 5, winners, rows, _code)
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


def test_replay_applies_fixes() -> None:
    letter = DeadLetter("1-0", "e1", {**FIELDS, "slot": "two"}, "parse", "bad", 1, "stream", 0)
    assert fixed_win(letter, parse_fixes(["slot=3"])) == WIN
    with pytest.raises(BadMessage):
        parse_fixes(["slot"])
