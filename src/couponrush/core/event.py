"""An event as a value: its definition, its live view and status, and the one set of time
conversions (milliseconds in Redis, datetimes in the database and the API)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal

from couponrush.core.queue import FIFO, OPENINGS, Opening, commitment

EventStatus = Literal["scheduled", "open", "sold_out", "closed", "archived"]
EVENT_STATUSES: tuple[EventStatus, ...] = ("scheduled", "open", "sold_out", "closed", "archived")


@dataclass(frozen=True, slots=True)
class Event:
    """What defines an event: the coupons row, and the meta hash in Redis."""

    event_id: str
    name: str
    total_stock: int
    starts_at: datetime | None
    ends_at: datetime | None
    opening: Opening = FIFO
    # The shuffled queue's secret seed (hex), kept with the definition so that a restore
    # keeps the commitment; not part of what a create request defines.
    seed: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class EventView:
    event_id: str
    name: str
    total_stock: int
    remaining: int
    issued: int
    starts_at_ms: int | None
    ends_at_ms: int | None
    now_ms: int
    created_at_ms: int | None = None
    archived: bool = False
    opening: Opening = FIFO
    commitment: str = ""
    # Told only from the opening on (``revealed``).
    seed: str = field(default="", repr=False)

    @property
    def revealed(self) -> str | None:
        """The seed once the queue has opened (starts_at, or creation without one)."""
        opened = self.starts_at_ms if self.starts_at_ms is not None else self.created_at_ms
        if not self.seed or opened is None or self.now_ms < opened:
            return None
        return self.seed

    @property
    def status(self) -> EventStatus:
        return event_status(
            self.remaining, self.starts_at_ms, self.ends_at_ms, self.now_ms, self.archived
        )


def event_status(
    remaining: int,
    starts_at_ms: int | None,
    ends_at_ms: int | None,
    now_ms: int,
    archived: bool = False,
) -> EventStatus:
    if archived:
        return "archived"
    if starts_at_ms is not None and now_ms < starts_at_ms:
        return "scheduled"
    if ends_at_ms is not None and now_ms >= ends_at_ms:
        return "closed"
    return "sold_out" if remaining <= 0 else "open"


def to_ms(at: datetime | None) -> int | None:
    return None if at is None else int(at.timestamp() * 1000)


def from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def meta_ms(text: str | None) -> int | None:
    """A time field of the meta hash: milliseconds, or "" for none."""
    return int(text) if text else None


def meta_text(at: datetime | None) -> str:
    """The other way: "" stands for none in the meta hash and in the scripts' arguments."""
    ms = to_ms(at)
    return "" if ms is None else str(ms)


@lru_cache(maxsize=8)
def _rfc3339_second(second: int) -> str:
    # isoformat, not strftime: %Y drops the leading zeros of a year before 1000
    return datetime.fromtimestamp(second, UTC).replace(tzinfo=None).isoformat()


def rfc3339_ms(ms: int) -> str:
    """RFC 3339 UTC with milliseconds; the second part is shared by most wins of a rush."""
    second, milli = divmod(ms, 1000)
    return f"{_rfc3339_second(second)}.{milli:03d}Z"


def event_from_meta(event_id: str, meta: Mapping[str, str]) -> Event | None:
    """None when the hash is empty or broken (the event is unknown to Redis)."""
    try:
        total = int(meta["total"])
    except (KeyError, ValueError):
        return None
    return Event(
        event_id,
        meta.get("name") or event_id,
        total,
        from_ms(meta_ms(meta.get("starts_at"))),
        from_ms(meta_ms(meta.get("ends_at"))),
        opening_of(meta),
        meta.get("seed") or "",
    )


def opening_of(meta: Mapping[str, str]) -> Opening:
    """The opening the meta hash holds (no ``opening`` field: first come, first served)."""
    mode = meta.get("opening") or "fifo"
    if mode not in OPENINGS:
        raise ValueError(f"unknown opening {mode!r}")
    wave, every = meta.get("admit_wave"), meta.get("admit_every_ms")
    return Opening(
        mode,
        from_ms(meta_ms(meta.get("prequeue_opens_at"))),
        int(wave) if wave else None,
        int(every) if every else FIFO.admit_every_ms,
        int(meta.get("proof_bits") or 0),
    )


def opening_meta(opening: Opening, seed: str) -> dict[str, str]:
    """The meta fields of an opening (the script arguments of create and amend, in this
    order); a first-come-first-served event writes them empty."""
    shuffled = opening.shuffled
    return {
        "opening": opening.mode if shuffled else "",
        "prequeue_opens_at": meta_text(opening.prequeue_opens_at),
        "admit_wave": str(opening.admit_per_wave or "") if shuffled else "",
        "admit_every_ms": str(opening.admit_every_ms) if shuffled else "",
        "proof_bits": str(opening.proof_bits) if shuffled else "",
        "seed": seed,
        "commitment": commitment(seed) if seed else "",
    }


def opening_record(event: Event) -> str | None:
    """The opening as the database keeps it (coupons.opening): its meta fields as JSON;
    None for first come, first served."""
    if not event.opening.shuffled:
        return None
    return json.dumps(opening_meta(event.opening, event.seed), sort_keys=True)


def from_record(text: str | None) -> tuple[Opening, str]:
    """The opening and the seed of a coupons.opening value."""
    if not text:
        return FIFO, ""
    fields: dict[str, str] = json.loads(text)
    return opening_of(fields), fields.get("seed", "")


def meta_of(event: Event, created_at_ms: int, archived: bool = False) -> dict[str, str]:
    """The fields create_event.lua writes (and ``archived``), for a restore from the
    database."""
    return {
        "total": str(event.total_stock),
        "starts_at": meta_text(event.starts_at),
        "ends_at": meta_text(event.ends_at),
        "name": event.name,
        "created_at": str(created_at_ms),
        "archived": "1" if archived else "",
        **opening_meta(event.opening, event.seed),
    }


def view_of(
    event_id: str, meta: Mapping[str, str], stock: str | None, issued: int, now_ms: int
) -> EventView | None:
    """The live view from the meta hash, the counter and the winner count (None: no meta)."""
    if not meta or "total" not in meta:
        return None
    return EventView(
        event_id=event_id,
        name=meta.get("name", ""),
        total_stock=int(meta["total"]),
        remaining=max(0, int(stock or 0)),
        issued=int(issued),
        starts_at_ms=meta_ms(meta.get("starts_at")),
        ends_at_ms=meta_ms(meta.get("ends_at")),
        now_ms=now_ms,
        created_at_ms=meta_ms(meta.get("created_at")),
        archived=meta.get("archived") == "1",
        opening=opening_of(meta),
        commitment=meta.get("commitment") or "",
        seed=meta.get("seed") or "",
    )
