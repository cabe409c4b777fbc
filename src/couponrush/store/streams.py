"""Outbox stream entries: parsing replies into deliveries, trimming, writing wins again."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from redis.exceptions import ResponseError

from couponrush.core.errors import BadMessage
from couponrush.core.ports import Delivery
from couponrush.core.win import Win, parse_entry
from couponrush.store.client import RedisClient, server_reply
from couponrush.store.keys import event_keys, event_of

Entry = tuple[str, dict[str, str] | None]


def delivery(stream: str, entry_id: str, fields: dict[str, str] | None) -> Delivery:
    event_id, payload = event_of(stream), dict(fields or {})
    try:
        return Delivery((stream, entry_id), event_id, payload, parse_entry(event_id, payload))
    except BadMessage as exc:
        return Delivery((stream, entry_id), event_id, payload, None, str(exc))


def entries_of(stream: str, reply: Any) -> list[Entry]:
    """The entries of a raw XREADGROUP (RESP3 map or RESP2 list, one stream) or XCLAIM reply
    (a list of entries); a deleted entry comes with no fields."""
    if isinstance(reply, dict):
        reply = reply.get(stream, [])
    elif reply and isinstance(reply[0], list) and reply[0] and reply[0][0] == stream:
        reply = reply[0][1]
    return [(str(entry_id), _fields(fields)) for entry_id, fields in reply or []]


def _fields(raw: Any) -> dict[str, str] | None:
    if raw is None or isinstance(raw, dict):
        return raw
    return dict(zip(raw[::2], raw[1::2], strict=True))


def stream_gone(exc: Exception) -> bool:
    """The stream or its group is not there (any more)."""
    text = server_reply(exc)
    return text.startswith(("NOGROUP", "UNBLOCKED")) or "no such key" in text.lower()


def ref_of(d: Delivery) -> tuple[str, str]:
    ref: Any = d.ref
    return str(ref[0]), str(ref[1])


async def trim_acknowledged(redis: RedisClient, stream: str) -> None:
    """Drop entries below the oldest one some group has not acknowledged yet (nothing when
    the stream is gone: Redis lost it, or `restore` is rebuilding the event)."""
    try:
        floor = await _floor(redis, stream)
    except ResponseError as exc:
        if stream_gone(exc):
            return
        raise
    if floor is not None and floor != "0-0":
        await redis.xtrim(stream, minid=floor, approximate=False)


async def _floor(redis: RedisClient, stream: str) -> str | None:
    groups: Any = await redis.xinfo_groups(stream)
    floor: str | None = None
    for group in groups:
        low = str(group["last-delivered-id"])
        if int(group["pending"]) > 0:
            summary: Any = await redis.xpending(stream, group["name"])
            low = str(summary["min"])
        floor = low if floor is None or _id(low) < _id(floor) else floor
    return floor


def entry_ms(entry_id: str) -> int:
    """When Redis added the entry: the millisecond part of its id."""
    return int(entry_id.partition("-")[0])


def _id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


async def requeue(redis: RedisClient, event_id: str, wins: Sequence[Win]) -> None:
    """Append wins to the event's outbox again (the consumer's insert absorbs repeats)."""
    outbox = event_keys(event_id).outbox
    async with redis.pipeline(transaction=False) as pipe:
        for win in wins:
            pipe.xadd(outbox, win.outbox_fields())  # type: ignore[arg-type]
        await pipe.execute()


async def unacknowledged(redis: RedisClient, event_id: str, group: str) -> list[Win]:
    """The event's outbox entries ``group`` has not acknowledged (delivered and pending, or
    not delivered yet): wins on their way that the database may not hold. Entries that do
    not parse are left out (they go to the dead letters)."""
    stream = event_keys(event_id).outbox
    try:
        groups: Any = await redis.xinfo_groups(stream)
    except ResponseError as exc:
        if stream_gone(exc):
            return []
        raise
    info = next((g for g in groups if g["name"] == group), None)
    pending: set[str] = set()
    start, delivered = "-", "0-0"
    if info is not None:
        delivered = str(info["last-delivered-id"])
        if int(info["pending"]):
            rows: Any = await redis.xpending_range(stream, group, "-", "+", int(info["pending"]))
            pending = {str(r["message_id"]) for r in rows}
        start = min([*pending, delivered], key=_id)
    entries: Any = await redis.xrange(stream, min=start, max="+")
    wins = []
    for entry_id, fields in entries:
        if str(entry_id) in pending or _id(str(entry_id)) > _id(delivered):
            with contextlib.suppress(BadMessage):
                wins.append(parse_entry(event_id, fields))
    return wins
