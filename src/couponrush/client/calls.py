"""The calls of the sale: what each sends, and what its last answer turns into.

Shared by the sync and async clients, so each of their methods is one line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from couponrush.client.errors import error_class
from couponrush.client.outcome import NO_COUPON_RESULTS, IssueOutcome, Reply
from couponrush.core.retry import RETRYABLE_STATUSES
from couponrush.web.schemas import CreateEventRequest, EventResponse, IssueResponse

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    method: str
    path: str
    finish: Callable[[Reply], T]
    json: dict[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    request_id: str | None = None


def segment(value: str) -> str:
    return quote(value, safe="")


def _retryable(reply: Reply) -> bool:
    return reply.status == 0 or reply.status in RETRYABLE_STATUSES


def fail(reply: Reply) -> Exception:
    """The typed exception for an answer the call cannot return."""
    problem = reply.problem
    detail = problem.detail if problem else f"after {len(reply.attempts)} tries"
    kind = error_class(reply.status, _retryable(reply))
    return kind(reply.status, reply.result, detail, reply.request_id, problem)


def _event(reply: Reply) -> EventResponse:
    if reply.status in (200, 201):
        return EventResponse.model_validate(reply.body)
    raise fail(reply)


def create_event(
    event_id: str,
    total_stock: int,
    name: str | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
    admin_token: str,
    opening: Mapping[str, Any] | None = None,
) -> Call[EventResponse]:
    """``opening``: a shuffled opening's fields (opening, prequeue_opens_at, admit_per_wave,
    admit_every_s, proof_bits), as the API names them."""
    # Built without validation: the server is the judge (422 -> Invalid), and a client
    # older or newer than the server must not refuse what the server accepts. Fields at
    # their defaults are left out, so a server that predates them takes the body too.
    body = CreateEventRequest.model_construct(
        event_id=event_id,
        name=name or event_id,
        total_stock=total_stock,
        starts_at=starts_at,
        ends_at=ends_at,
        **(opening or {}),
    ).model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    auth = {"Authorization": f"Bearer {admin_token}"}
    return Call("POST", "/v1/events", _event, body, auth)


def get_event(event_id: str) -> Call[EventResponse]:
    return Call("GET", f"/v1/events/{segment(event_id)}", _event)


def get_issuance(event_id: str, user_id: str) -> Call[IssueResponse | None]:
    def finish(reply: Reply) -> IssueResponse | None:
        if reply.status == 200:
            return IssueResponse.model_validate(reply.body)
        if reply.status == 404:
            return None
        raise fail(reply)

    return Call("GET", f"/v1/events/{segment(event_id)}/issuances/{segment(user_id)}", finish)


def issue(
    event_id: str, user_id: str, request_id: str | None, headers: Mapping[str, str] | None
) -> Call[IssueOutcome]:
    def finish(reply: Reply) -> IssueOutcome:
        if reply.status in (200, 201):
            coupon = IssueResponse.model_validate(reply.body)
            return IssueOutcome(
                event_id,
                user_id,
                coupon.result,
                reply.status,
                reply.request_id,
                reply.attempts,
                coupon=coupon,
            )
        if reply.result in NO_COUPON_RESULTS or _retryable(reply):
            return IssueOutcome(
                event_id,
                user_id,
                reply.result,
                reply.status,
                reply.request_id,
                reply.attempts,
                problem=reply.problem,
            )
        raise fail(reply)

    path = f"/v1/events/{segment(event_id)}/issue"
    return Call("POST", path, finish, {"user_id": user_id}, headers or {}, request_id)


def _reply(reply: Reply) -> Reply:
    return reply


def join_queue(
    event_id: str, user_id: str, proof: str | None, headers: Mapping[str, str] | None
) -> Call[Reply]:
    """Its answer as it came (the queue's definite refusals are answers, not errors)."""
    body = {"user_id": user_id, **({"proof": proof} if proof else {})}
    return Call("POST", f"/v1/events/{segment(event_id)}/queue", _reply, body, headers or {})


def queue_place(event_id: str, user_id: str, headers: Mapping[str, str] | None) -> Call[Reply]:
    path = f"/v1/events/{segment(event_id)}/queue/{segment(user_id)}"
    return Call("GET", path, _reply, headers=headers or {})


def queue_state(event_id: str) -> Call[Reply]:
    return Call("GET", f"/v1/events/{segment(event_id)}/queue/state", _reply)


def queue_order(event_id: str) -> Call[Reply]:
    return Call("GET", f"/v1/events/{segment(event_id)}/queue/order", _reply)


def model(kind: type[M], reply: Reply, *statuses: int) -> M:
    """The answer as ``kind`` when its status is one of ``statuses``, else the typed error."""
    if reply.status in statuses:
        return kind.model_validate(reply.body)
    raise fail(reply)
