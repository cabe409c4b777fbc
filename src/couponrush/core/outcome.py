"""What one issue attempt came to, from a reply of issue.lua (no HTTP here: web/problems
maps results to statuses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Outcome:
    result: str
    slot: int = 0
    issued_at_ms: int = 0
    # starts_at or ends_at (ms) for not_open / closed
    when_ms: int = 0
    retry_after_ms: int = 0
    # not_admitted: the user's place in the queue (0: not in it) and the last one admitted
    position: int = 0
    admitted_upto: int = 0

    @property
    def is_win(self) -> bool:
        return self.slot > 0


NOT_FOUND = Outcome("not_found")
SOLD_OUT = Outcome("sold_out")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def issued(slot: int, issued_at_ms: int) -> Outcome:
    return Outcome("issued", slot, issued_at_ms)


def already_issued(slot: int, issued_at_ms: int) -> Outcome:
    return Outcome("already_issued", slot, issued_at_ms)


def from_reply(reply: list[Any]) -> Outcome:
    """Translate the reply of issue.lua; an unknown reply is a programming error."""
    code = _text(reply[0])
    if code == "ISSUED":
        return issued(int(reply[1]), int(reply[2]))
    if code == "DUPLICATE":
        return already_issued(int(reply[1]), int(reply[2]))
    if code == "SOLD_OUT":
        return SOLD_OUT
    if code == "NOT_OPEN":
        return Outcome("not_open", when_ms=int(reply[1]))
    if code == "CLOSED":
        return Outcome("closed", when_ms=int(reply[1]))
    if code == "RATE_LIMITED":
        return Outcome("rate_limited", retry_after_ms=int(reply[1]))
    if code == "NOT_ADMITTED":
        return Outcome(
            "not_admitted",
            retry_after_ms=int(reply[3]),
            position=int(reply[1]),
            admitted_upto=int(reply[2]),
        )
    if code == "NOT_FOUND":
        return NOT_FOUND
    raise ValueError(f"unexpected reply from issue.lua: {reply!r}")
