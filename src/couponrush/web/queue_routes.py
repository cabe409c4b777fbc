"""A shuffled opening's queue: join it, read one's place, the state document everyone
polls, and the published order (docs/fair-opening.md). The gateway answers the state
document from a one-second cache of its own (docs/gateway.md), so most polls never come
here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from couponrush.core.admission import POLL_S, QueueSnapshot
from couponrush.core.event import rfc3339_ms
from couponrush.store.queue import Place
from couponrush.web.i18n import say
from couponrush.web.openapi import problems
from couponrush.web.problems import STATUS
from couponrush.web.queue_schemas import QueueJoin, QueueOrder, QueuePlace, QueueState
from couponrush.web.responses import JSONResponse, problem_response
from couponrush.web.routes import Bearer, Svc, not_the_holder
from couponrush.web.schemas import EventId, UserId

router = APIRouter(tags=["queue"])
CACHEABLE = {"Cache-Control": f"public, max-age={POLL_S}"}
_JOIN_409 = {409: "no_queue (first come, first served) / not_open (the pre-queue) / closed"}
_READ_409 = {409: "no_queue: first come, first served"}
# queue.lua's outcomes that end a member's wait, as problems
_REFUSALS = {"SOLD_OUT": "sold_out", "CLOSED": "closed"}


def _refusal(event_id: str, place: Place) -> Response | None:
    """The problem for an outcome that is no place, else None."""
    state = place.state
    result = _REFUSALS.get(place.outcome)
    if result == "closed" and state.ends_at_ms is not None:
        return problem_response(
            409, result, None, event_id=event_id, ends_at=rfc3339_ms(state.ends_at_ms)
        )
    if result is not None:
        return problem_response(STATUS[result], result, None, event_id=event_id)
    if place.outcome == "NOT_OPEN":
        opens = state.document()["prequeue_opens_at"]
        return problem_response(
            409, "not_open", say("queue_not_open"), event_id=event_id, prequeue_opens_at=opens
        )
    if place.outcome == "BAD_PROOF":
        return problem_response(
            422,
            "bad_proof",
            None,
            event_id=event_id,
            proof_bits=state.opening.proof_bits,
            commitment=state.commitment,
        )
    if place.outcome == "ABSENT":
        return problem_response(404, "not_found", say("not_queued"), event_id=event_id)
    return None


def _user(svc: Svc, credentials: Bearer, user_id: str) -> Response | None:
    """With signed identity, the token's holder only."""
    if svc.identity is None:
        return None
    return not_the_holder(svc.identity, credentials, user_id)


@router.post(
    "/v1/events/{event_id}/queue",
    status_code=201,
    response_model=QueuePlace,
    responses={
        200: {"model": QueuePlace, "description": "already_queued: the same place again"},
        **problems(401, 403, 404, 405, 409, 410, 413, 415, 422, 503, described=_JOIN_409),
    },
    summary="Join a shuffled opening's queue (once: again, or a refresh, keeps the place)",
)
async def join_queue(event_id: EventId, body: QueueJoin, svc: Svc, credentials: Bearer) -> Response:
    refused = _user(svc, credentials, body.user_id)
    if refused is not None:
        return refused
    place = await svc.queues.join(event_id, body.user_id, body.proof or "")
    refused = _refusal(event_id, place)
    if refused is not None:
        return refused
    if place.outcome == "JOINED":
        return JSONResponse(place.state.place(body.user_id, place.position, "queued"), 201)
    return JSONResponse(place.state.place(body.user_id, place.position, "already_queued"))


@router.get(
    "/v1/events/{event_id}/queue/state",
    response_model=QueueState,
    responses=problems(404, 405, 409, 422, 503, described=_READ_409),
    summary="The queue's state for everyone: admitted_upto, sold_out, commitment, seed",
)
async def queue_state(event_id: EventId, svc: Svc) -> Response:
    state = await svc.queues.state(event_id)
    return JSONResponse(state.document(), headers=CACHEABLE)


@router.get(
    "/v1/events/{event_id}/queue/order",
    response_model=QueueOrder,
    responses=problems(404, 405, 409, 422, 503, described={409: "no_queue / not_open"}),
    summary="The order served, with the seed and the tickets, to check (from the opening)",
)
async def queue_order(event_id: EventId, svc: Svc) -> Response:
    state, prequeue, late = await svc.queues.order(event_id)
    if not state.opened:
        return _unrevealed(event_id, state)
    body: dict[str, Any] = {
        "result": "ok",
        "event_id": event_id,
        "commitment": state.commitment,
        "seed": state.seed,
        "prequeue": prequeue,
        "late": late,
    }
    return JSONResponse(body, headers=CACHEABLE)


def _unrevealed(event_id: str, state: QueueSnapshot) -> Response:
    return problem_response(
        409,
        "not_open",
        say("queue_not_revealed"),
        event_id=event_id,
        starts_at=rfc3339_ms(state.opened_ms),
    )


@router.get(
    "/v1/events/{event_id}/queue/{user_id}",
    response_model=QueuePlace,
    responses=problems(401, 403, 404, 405, 409, 410, 422, 503, described=_READ_409),
    summary="A member's place: position (from the opening) and whether it is admitted",
)
async def queue_place(
    event_id: EventId, user_id: UserId, svc: Svc, credentials: Bearer
) -> Response:
    refused = _user(svc, credentials, user_id)
    if refused is not None:
        return refused
    place = await svc.queues.place(event_id, user_id)
    refused = _refusal(event_id, place)
    if refused is not None:
        return refused
    return JSONResponse(place.state.place(user_id, place.position, "ok"))
