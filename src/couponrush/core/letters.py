"""A dead letter: a queued message that will not go through unaided, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Letter:
    """What is put to the dead letters: the message, why, and who gave up on it."""

    event_id: str
    payload: dict[str, str]
    kind: str  # "parse", "conflict", "unknown_event", "rejected"
    reason: str
    attempts: int
    source: str


@dataclass(frozen=True, slots=True)
class DeadLetter(Letter):
    """A letter as kept: its entry id and when it was put."""

    id: str
    failed_at_ms: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event_id": self.event_id,
            "payload": self.payload,
            "kind": self.kind,
            "reason": self.reason,
            "attempts": self.attempts,
            "source": self.source,
            "failed_at_ms": self.failed_at_ms,
        }
