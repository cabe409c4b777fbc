"""The fair opening's order, as pure functions anyone can run again (docs/fair-opening.md).

An event with ``opening: "shuffled"`` holds a secret random seed from its creation and
publishes its commitment, the SHA-256 of the seed. Whoever joins its queue between
``prequeue_opens_at`` and ``starts_at`` is enrolled by ticket, the SHA-256 of
``event_id:user_id`` (so the published list names no user). At ``starts_at`` the seed is
revealed and the pre-queue's order is the tickets sorted by HMAC-SHA256(seed, ticket);
whoever joins after the opening goes to the end, first come first served. Anyone holding
the seed, the commitment and the published tickets can check all of it (``verify``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

OpeningMode = Literal["fifo", "shuffled"]
OPENINGS: tuple[OpeningMode, ...] = ("fifo", "shuffled")
DEFAULT_EVERY_MS = 2000
MAX_PROOF_BITS = 24
SEED_BYTES = 32


@dataclass(frozen=True, slots=True)
class Opening:
    """How an event opens: first come first served, or a shuffled pre-queue admitted in
    waves of ``admit_per_wave`` positions (None: the stock and a tenth) every
    ``admit_every_ms``; joining may want a proof of work of ``proof_bits``."""

    mode: OpeningMode = "fifo"
    prequeue_opens_at: datetime | None = None
    admit_per_wave: int | None = None
    admit_every_ms: int = DEFAULT_EVERY_MS
    proof_bits: int = 0

    @property
    def shuffled(self) -> bool:
        return self.mode == "shuffled"


FIFO = Opening()


def commitment(seed: str) -> str:
    """What an event publishes before anyone joins: the SHA-256 of its seed (hex)."""
    return hashlib.sha256(bytes.fromhex(seed)).hexdigest()


def ticket(event_id: str, user_id: str) -> str:
    """A user's entry in the published list: the SHA-256 of ``event_id:user_id`` (hex)."""
    return hashlib.sha256(f"{event_id}:{user_id}".encode()).hexdigest()


def order_key(seed: str, entry: str) -> str:
    """A ticket's place in the pre-queue's order: HMAC-SHA256(seed, ticket), hex."""
    return hmac.new(bytes.fromhex(seed), entry.encode(), hashlib.sha256).hexdigest()


def prequeue_member(seed: str, entry: str) -> str:
    """The member of the queue's sorted set for a pre-queue ticket: all of them score 0,
    so Redis orders them by this text, which is the order key first."""
    return f"{order_key(seed, entry)}:{entry}"


def ticket_of(member: str) -> str:
    """The ticket of a queue member (a late one is its bare ticket)."""
    return member.rpartition(":")[2]


def shuffled(seed: str, tickets: Sequence[str]) -> list[str]:
    """The pre-queue's order: the tickets sorted by their order key."""
    return sorted(tickets, key=lambda entry: order_key(seed, entry))


@dataclass(frozen=True, slots=True)
class Verdict:
    """What ``verify`` found; ``position`` is the checked user's place (1-based), if any."""

    commitment_ok: bool
    order_ok: bool
    prequeue: int
    late: int
    # The first place (1-based) where the served pre-queue differs from the recomputed one.
    first_difference: int | None
    position: int | None = None

    @property
    def ok(self) -> bool:
        return self.commitment_ok and self.order_ok


def verify(
    published: str,
    seed: str,
    prequeue: Sequence[str],
    late: Sequence[str],
    own_ticket: str | None = None,
) -> Verdict:
    """Check a queue's published order: the seed matches the commitment published before
    the pre-queue opened, and the pre-queue is in the order the seed gives."""
    again = shuffled(seed, prequeue)
    differs = next(
        (i + 1 for i, (a, b) in enumerate(zip(again, prequeue, strict=True)) if a != b), None
    )
    order = [*prequeue, *late]
    position = order.index(own_ticket) + 1 if own_ticket in order else None
    return Verdict(
        commitment(seed) == published, differs is None, len(prequeue), len(late), differs, position
    )
