"""A win as a value: parsing it from the outbox or a Kafka message, and telling a
redelivery from a conflict with a row the database already holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from couponrush.core.errors import BadMessage
from couponrush.core.ids import EVENT_ID_MATCH, USER_ID_MATCH

_MAX_SLOT = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Win:
    event_id: str
    user_id: str
    slot: int
    issued_at_ms: int
    request_id: str

    @property
    def issued_at(self) -> datetime:
        return datetime.fromtimestamp(self.issued_at_ms / 1000, UTC)

    def outbox_fields(self) -> dict[str, str]:
        return {
            "user_id": self.user_id,
            "slot": str(self.slot),
            "issued_at": str(self.issued_at_ms),
            "request_id": self.request_id,
        }

    def to_message(self) -> bytes:
        """The Kafka value: the outbox fields plus the event, which the key no longer says."""
        return orjson.dumps({"event_id": self.event_id, **self.outbox_fields()})


def _int(fields: Mapping[str, str], name: str, low: int, high: int) -> int:
    raw = fields.get(name)
    if raw is None:
        raise BadMessage(f"missing field {name!r}")
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise BadMessage(f"field {name!r} is not an integer: {raw!r}") from None
    if not low <= value <= high:
        raise BadMessage(f"field {name!r} out of range: {value}")
    return value


def parse_entry(event_id: str, fields: Mapping[str, str]) -> Win:
    """One outbox entry (or DLQ payload) of event ``event_id`` as a Win, or BadMessage."""
    if not isinstance(event_id, str) or not EVENT_ID_MATCH(event_id):
        raise BadMessage(f"bad event id {event_id!r}")
    user_id = fields.get("user_id")
    if not isinstance(user_id, str) or not USER_ID_MATCH(user_id):
        raise BadMessage(f"bad user_id {user_id!r}")
    slot = _int(fields, "slot", 1, _MAX_SLOT)
    issued_at = _int(fields, "issued_at", 0, 2**53)
    request_id = fields.get("request_id", "")
    if not isinstance(request_id, str) or len(request_id) > 200:
        raise BadMessage("bad request_id")
    return Win(event_id, user_id, slot, issued_at, request_id)


def parse_message(value: bytes | None) -> Win:
    """One Kafka message value (see Win.to_message) as a Win, or BadMessage."""
    try:
        body = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        raise BadMessage("value is not JSON") from None
    if not isinstance(body, dict):
        raise BadMessage("value is not a JSON object")
    fields = {k: v if isinstance(v, str) else str(v) for k, v in body.items()}
    return parse_entry(fields.pop("event_id", ""), fields)


@dataclass(frozen=True, slots=True)
class ExistingRow:
    user_id: str
    slot: int


def conflict_reason(win: Win, existing: list[ExistingRow]) -> str | None:
    """Why a win the database did not take contradicts it; None for a re-delivery.

    ``existing`` holds the event's rows that share the win's user or its slot.
    """
    if any(r.user_id == win.user_id and r.slot == win.slot for r in existing):
        return None
    for row in existing:
        if row.slot == win.slot:
            return f"slot {win.slot} is held by user {row.user_id!r}, not {win.user_id!r}"
    for row in existing:
        if row.user_id == win.user_id:
            return f"user {win.user_id!r} holds slot {row.slot}, not {win.slot}"
    return "not inserted, yet no conflicting row was found"
