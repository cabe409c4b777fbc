"""``queue_and_issue``: join a shuffled opening's queue, wait for one's place, issue.

The steps are a generator shared by the sync and async clients, which only carry them out
(send a call, or sleep): it yields what to do and is sent each answer.

- An event without a queue (first come, first served) is issued at once.
- The join brings the proof of work the event asks for (``proof_bits``), and is sent again
  while the pre-queue has not opened.
- Then it polls the state document (the gateway's edge answers it), never more often than
  ``poll_s`` nor sooner than a ``Retry-After``: at the opening it learns its position
  once, and it issues as soon as the queue has admitted it.
- It stops at the first definite answer: the coupon, ``sold_out`` (the queue closed at the
  sell-out) or ``closed``; at ``max_wait_s`` it gives up (``final`` is False).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping
from typing import Any

from couponrush.client import calls
from couponrush.client.calls import Call
from couponrush.client.outcome import IssueOutcome, Reply
from couponrush.core.admission import POLL_S, solve
from couponrush.web.queue_schemas import QueuePlace, QueueState

# ("state",), ("join", proof or None), ("place",), ("issue",) or ("sleep", seconds)
Step = tuple[Any, ...]
Steps = Generator[Step, Any, IssueOutcome]


# The state document's definite ends, with the status the issue route gives them.
_ENDS = {"sold_out": 410, "closed": 409}


def _ended(event_id: str, user_id: str, reply: Reply, result: str | None = None) -> IssueOutcome:
    """A queue answer that ends the wait, as an issue outcome (a problem's own result)."""
    found = result or reply.result
    return IssueOutcome(
        event_id,
        user_id,
        found,
        _ENDS.get(found, reply.status),
        reply.request_id,
        reply.attempts,
        problem=reply.problem,
    )


def call_of(
    step: Step, event_id: str, user_id: str, headers: Mapping[str, str] | None
) -> Call[Any]:
    """The call a step sends (every step but "sleep")."""
    kind = step[0]
    if kind == "state":
        return calls.queue_state(event_id)
    if kind == "join":
        return calls.join_queue(event_id, user_id, step[1], headers)
    if kind == "place":
        return calls.queue_place(event_id, user_id, headers)
    return calls.issue(event_id, user_id, None, headers)


def _place(reply: Reply) -> QueuePlace | None:
    return QueuePlace.model_validate(reply.body) if reply.status in (200, 201) else None


def steps(
    event_id: str,
    user_id: str,
    max_wait_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> Steps:
    deadline = clock() + max_wait_s
    state: Reply = yield ("state",)
    if state.result == "no_queue":
        issued: IssueOutcome = yield ("issue",)
        return issued
    if state.status != 200:
        return _ended(event_id, user_id, state)
    doc = QueueState.model_validate(state.body)
    proof = solve(doc.commitment, user_id, doc.proof_bits) if doc.proof_bits else None
    joined: Reply = yield ("join", proof)
    while joined.result == "not_open" and clock() + POLL_S < deadline:
        yield ("sleep", POLL_S)
        joined = yield ("join", proof)
    place = _place(joined)
    if place is None:
        return _ended(event_id, user_id, joined)
    return (yield from _wait(event_id, user_id, place, deadline, clock))


def _wait(
    event_id: str, user_id: str, place: QueuePlace, deadline: float, clock: Callable[[], float]
) -> Steps:
    position, admitted, floor = place.position, place.admitted, 0.0
    while True:
        if admitted:
            outcome: IssueOutcome = yield ("issue",)
            if outcome.result != "not_admitted":
                return outcome
            floor = outcome.attempts[-1].retry_after_s
        wait = max(POLL_S, floor)
        if clock() + wait >= deadline:
            return IssueOutcome(event_id, user_id, "not_admitted", 409, "", ())
        yield ("sleep", wait)
        reply: Reply = yield ("state",)
        if reply.status != 200:
            continue  # the state document is busy or away: ask again after the interval
        doc = QueueState.model_validate(reply.body)
        if doc.sold_out or doc.closed:
            return _ended(event_id, user_id, reply, "sold_out" if doc.sold_out else "closed")
        if position is None and doc.seed is not None:  # open: the position is known now
            placed = _place((yield ("place",)))
            position = placed.position if placed else None
        admitted = position is not None and position <= doc.admitted_upto
