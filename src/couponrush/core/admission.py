"""Admission from a shuffled queue, as pure functions: the waves, the wait of a position,
the proof of work on joining, and the queue's state document.

Admission is a function of the time alone, so it needs no process to advance it and every
reader agrees: from the opening, wave k (k = 0, 1, ...) admits positions up to
``size * (k + 1)`` at ``opened + k * every``. ``issue.lua`` computes the same inside the
atomic issue step (``admitted``), which is what lets nobody issue early.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from itertools import count
from typing import Any

from couponrush.core.event import rfc3339_ms
from couponrush.core.queue import Opening

# Without a wave size, each wave admits the stock and a tenth more (issue.lua's 11 / 10).
MARGIN = (11, 10)
# How often a waiting client asks again: the state document is cacheable this long.
POLL_S = 1


def wave_size(opening: Opening, total: int) -> int:
    if opening.admit_per_wave is not None:
        return opening.admit_per_wave
    return -(-total * MARGIN[0] // MARGIN[1])


@dataclass(frozen=True, slots=True)
class Waves:
    opened_ms: int
    size: int
    every_ms: int

    def admitted(self, now_ms: int) -> int:
        """The last position admitted at ``now_ms`` (0 before the opening)."""
        if now_ms < self.opened_ms:
            return 0
        return self.size * (1 + (now_ms - self.opened_ms) // self.every_ms)

    def admitted_at(self, position: int) -> int:
        """When ``position`` (1-based) is admitted, ms since the epoch."""
        return self.opened_ms + (-(-position // self.size) - 1) * self.every_ms

    def wait_ms(self, position: int, now_ms: int) -> int:
        return max(0, self.admitted_at(max(1, position)) - now_ms)


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """One queue as its script read it at ``now_ms`` (Redis's clock)."""

    event_id: str
    opening: Opening
    now_ms: int
    opened_ms: int
    ends_at_ms: int | None
    total: int
    stock: int
    # Everyone in the queue (the pre-queue and those who came after the opening).
    size: int
    commitment: str
    seed: str

    @property
    def waves(self) -> Waves:
        return Waves(
            self.opened_ms, wave_size(self.opening, self.total), self.opening.admit_every_ms
        )

    @property
    def opened(self) -> bool:
        return self.now_ms >= self.opened_ms

    @property
    def sold_out(self) -> bool:
        return self.stock <= 0

    @property
    def closed(self) -> bool:
        return self.ends_at_ms is not None and self.now_ms >= self.ends_at_ms

    def wait_s(self, position: int) -> float:
        """Seconds until ``position`` is admitted (0 once sold out or closed)."""
        if self.sold_out or self.closed:
            return 0.0
        return round(self.waves.wait_ms(position, self.now_ms) / 1000, 1)

    def document(self) -> dict[str, Any]:
        """The one small document every waiting client polls (GET .../queue/state): the
        same for everyone, cacheable for POLL_S. Its wait is a newcomer's, at the end."""
        opens_at = self.opening.prequeue_opens_at
        return {
            "result": "ok",
            "event_id": self.event_id,
            "prequeue_opens_at": rfc3339_ms(int(opens_at.timestamp() * 1000)) if opens_at else None,
            "starts_at": rfc3339_ms(self.opened_ms),
            "enrolled": self.size,
            "admitted_upto": self.waves.admitted(self.now_ms),
            "sold_out": self.sold_out,
            "closed": self.closed,
            "commitment": self.commitment,
            "seed": self.seed if self.opened else None,
            "estimated_wait_s": self.wait_s(self.size + 1),
            "proof_bits": self.opening.proof_bits,
            "admit_per_wave": self.waves.size,
            "admit_every_s": self.waves.every_ms / 1000,
            "poll_s": POLL_S,
            "as_of": rfc3339_ms(self.now_ms),
        }

    def place(self, user_id: str, position: int, result: str) -> dict[str, Any]:
        """A member's place: its position once the seed is out (null before the opening),
        whether it is admitted, and its wait."""
        admitted = self.opened and position <= self.waves.admitted(self.now_ms)
        return {
            "result": result,
            "event_id": self.event_id,
            "user_id": user_id,
            "position": position if self.opened else None,
            "admitted": admitted,
            "admitted_upto": self.waves.admitted(self.now_ms),
            "enrolled": self.size,
            "estimated_wait_s": self.wait_s(position),
            "starts_at": rfc3339_ms(self.opened_ms),
        }


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte:
            return bits + 8 - byte.bit_length()
        bits += 8
    return bits


def proof_digest(commitment: str, user_id: str, nonce: str) -> bytes:
    """Hashcash-style: SHA-1 of ``commitment:user_id:nonce`` (Redis's Lua has SHA-1, so
    the join script checks it inside the atomic step)."""
    text = f"{commitment}:{user_id}:{nonce}".encode()
    return hashlib.sha1(text, usedforsecurity=False).digest()


def proof_ok(commitment: str, user_id: str, nonce: str, bits: int) -> bool:
    return leading_zero_bits(proof_digest(commitment, user_id, nonce)) >= bits


def solve(commitment: str, user_id: str, bits: int) -> str:
    """A nonce that proves the work (about 2**bits hashes)."""
    for n in count():
        if proof_ok(commitment, user_id, str(n), bits):
            return str(n)
    raise AssertionError("unreachable")
