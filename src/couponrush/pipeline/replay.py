"""``dlq replay``: write dead letters to the database after the cause was fixed.

A replay goes through the same parsing, event check and idempotent insert as the
consumer; an entry leaves the DLQ only once its win is in the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from redis.asyncio import Redis

from couponrush.codes import CodeSigner
from couponrush.db import repo
from couponrush.pipeline.consumer import adopt_events
from couponrush.pipeline.dlq import DeadLetter, DeadLetters
from couponrush.pipeline.model import BadMessage, Win, conflict_reason, parse_entry
from couponrush.pipeline.runner import redis_for
from couponrush.settings import Settings

T = TypeVar("T")
_ALL = 100_000


@dataclass(frozen=True, slots=True)
class Outcome:
    id: str
    ok: bool
    detail: str


def parse_fixes(items: Sequence[str]) -> dict[str, str]:
    """``["slot=7", "user_id=u1"]`` -> {"slot": "7", "user_id": "u1"}."""
    fixes: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise BadMessage(f"a fix is field=value, not {item!r}")
        fixes[name] = value
    return fixes


def fixed_win(letter: DeadLetter, fixes: dict[str, str]) -> Win:
    fields = {**letter.payload, **fixes}
    event_id = fields.pop("event_id", "") or letter.event_id
    return parse_entry(event_id, fields)


async def with_redis(settings: Settings, op: Callable[[Redis], Awaitable[T]]) -> T:
    redis = redis_for(settings)
    try:
        return await op(redis)
    finally:
        await redis.aclose()


async def replay(redis: Redis, pool: Any, signer: CodeSigner, ids: Sequence[str],
                 fixes: dict[str, str]) -> list[Outcome]:  # fmt: skip
    dlq = DeadLetters(redis)
    if ids:
        found = [(i, await dlq.get(i)) for i in ids]
    else:
        found = [(d.id, d) for d in await dlq.list(_ALL)]
    outcomes = []
    for entry_id, letter in found:
        if letter is None:
            outcomes.append(Outcome(entry_id, False, "no such dead letter"))
            continue
        outcome = await _replay_one(redis, pool, signer, letter, fixes)
        if outcome.ok:
            await dlq.delete(letter.id)
        outcomes.append(outcome)
    return outcomes


async def _replay_one(redis: Redis, pool: Any, signer: CodeSigner, letter: DeadLetter,
                      fixes: dict[str, str]) -> Outcome:  # fmt: skip
    try:
        win = fixed_win(letter, fixes)
    except BadMessage as exc:
        return Outcome(letter.id, False, f"still not a win: {exc}")
    if win.event_id not in await adopt_events(redis, pool, [win.event_id]):
        return Outcome(letter.id, False, f"no event {win.event_id!r}")
    code = signer.code(win.event_id, win.slot, win.user_id)
    skipped = await repo.insert_wins(pool, [win], [code])
    reason = conflict_reason(win, skipped[win]) if win in skipped else None
    if reason is not None:
        return Outcome(letter.id, False, reason)
    return Outcome(letter.id, True, f"{win.user_id} slot {win.slot}")
