"""``dlq replay``: write dead letters to the database after the cause was fixed.

A replay goes through the same parsing, event check and idempotent insert as the
consumer; an entry leaves the DLQ only once its win is in the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from couponrush.core.codes import CodeSigner
from couponrush.core.errors import BadMessage
from couponrush.core.letters import DeadLetter
from couponrush.core.win import Win, conflict_reason, parse_entry
from couponrush.db.repository import Repository
from couponrush.pipeline.consumer import adopt_events
from couponrush.store.dead_letters import DeadLetters
from couponrush.store.events import EventStore

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


@dataclass(frozen=True)
class Replayer:
    letters: DeadLetters
    store: EventStore
    db: Repository
    signer: CodeSigner

    async def replay(self, ids: Sequence[str], fixes: dict[str, str]) -> list[Outcome]:
        if ids:
            found = [(i, await self.letters.get(i)) for i in ids]
        else:
            found = [(d.id, d) for d in await self.letters.list(_ALL)]
        outcomes = []
        for entry_id, letter in found:
            if letter is None:
                outcomes.append(Outcome(entry_id, False, "no such dead letter"))
                continue
            outcome = await self._one(letter, fixes)
            if outcome.ok:
                await self.letters.delete(letter.id)
            outcomes.append(outcome)
        return outcomes

    async def _one(self, letter: DeadLetter, fixes: dict[str, str]) -> Outcome:
        try:
            win = fixed_win(letter, fixes)
        except BadMessage as exc:
            return Outcome(letter.id, False, f"still not a win: {exc}")
        if win.event_id not in await adopt_events(self.db, self.store, [win.event_id]):
            return Outcome(letter.id, False, f"no event {win.event_id!r}")
        code = self.signer.code(win.event_id, win.slot, win.user_id)
        skipped = await self.db.insert_wins([win], [code])
        reason = conflict_reason(win, skipped[win]) if win in skipped else None
        if reason is not None:
            return Outcome(letter.id, False, reason)
        return Outcome(letter.id, True, f"{win.user_id} slot {win.slot}")
