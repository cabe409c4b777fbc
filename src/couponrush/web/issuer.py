"""The issue use case: local sold-out answer, else one atomic step in Redis."""

from __future__ import annotations

from couponrush.core import outcome as outcomes
from couponrush.core.errors import Overloaded
from couponrush.core.outcome import Outcome
from couponrush.core.ports import Batcher
from couponrush.web.soldout import SoldOutCache


class Issuer:
    def __init__(self, batcher: Batcher, soldout: SoldOutCache, max_in_flight: int) -> None:
        self._batcher = batcher
        self._soldout = soldout
        self._max_in_flight = max_in_flight
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Calls handed to Redis and not yet answered, in this worker."""
        return self._in_flight

    async def issue(self, event_id: str, user_id: str, request_id: str) -> Outcome:
        """Raises Overloaded at the in-flight bound, StoreUnavailable past the deadline."""
        winners = self._soldout.winners(event_id)
        if winners is not None:
            won = winners.get(user_id)
            return outcomes.already_issued(*won) if won else outcomes.SOLD_OUT
        if self._in_flight >= self._max_in_flight:
            raise Overloaded(f"worker at its bound of {self._max_in_flight} requests in flight")
        self._in_flight += 1
        try:
            future, place = self._batcher.call(event_id, user_id, request_id)
            reply = (await future)[place]
        finally:
            self._in_flight -= 1
        outcome = outcomes.from_reply(reply)
        if outcome is outcomes.SOLD_OUT:
            self._soldout.load_soon(event_id)
        return outcome
