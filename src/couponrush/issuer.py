"""The issue use case: local sold-out answer, else one atomic step in Redis."""

from __future__ import annotations

from functools import lru_cache

from couponrush import outcomes
from couponrush.batcher import ScriptBatcher
from couponrush.keys import event_keys
from couponrush.outcomes import Outcome
from couponrush.soldout import SoldOutCache

_script_keys = lru_cache(maxsize=4096)(lambda event_id: event_keys(event_id).script_keys)


class Issuer:
    def __init__(self, batcher: ScriptBatcher, soldout: SoldOutCache) -> None:
        self._batcher = batcher
        self._soldout = soldout

    async def issue(self, event_id: str, user_id: str, request_id: str) -> Outcome:
        """Raises StoreUnavailable when Redis does not answer within the deadline."""
        winners = self._soldout.winners(event_id)
        if winners is not None:
            won = winners.get(user_id)
            return outcomes.already_issued(*won) if won else outcomes.SOLD_OUT
        reply = await self._batcher.call(_script_keys(event_id), (user_id, request_id))
        outcome = outcomes.from_reply(reply)
        if outcome is outcomes.SOLD_OUT:
            self._soldout.load_soon(event_id)
        return outcome
