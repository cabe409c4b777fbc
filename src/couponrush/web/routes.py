"""FastAPI routes other than the hot issue route: events, look-ups, health, metrics."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from couponrush.core.errors import EventExists, NotAuthenticated, NotYours
from couponrush.core.event import EventView, from_ms
from couponrush.core.outcome import already_issued
from couponrush.web.auth import draft, permitted
from couponrush.web.i18n import say
from couponrush.web.identity import Identity
from couponrush.web.issue import claimed_user
from couponrush.web.openapi import problems
from couponrush.web.replies import win_body
from couponrush.web.responses import JSONResponse, ProblemResponse, problem_response
from couponrush.web.schemas import CreateEventRequest, EventId, EventResponse, IssueResponse, UserId
from couponrush.web.wiring import Services

__all__ = ["JSONResponse", "ProblemResponse", "problem_response", "router"]

router = APIRouter()


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


Svc = Annotated[Services, Depends(services)]
# The API token as an HTTP Bearer security scheme; its absence is answered by the route.
Bearer = Annotated[
    HTTPAuthorizationCredentials | None,
    Depends(
        HTTPBearer(
            auto_error=False,
            description="An API token: the settings' bootstrap admin token, or a scoped "
            "one (`couponrush tokens create --scope admin|redeemer|viewer`)",
        )
    ),
]


def _opening_fields(view: EventView) -> dict[str, Any]:
    """A shuffled opening's fields of the event document (none for first come, first
    served); the seed only from the opening on."""
    opening = view.opening
    if not opening.shuffled:
        return {}
    return {
        "opening": opening.mode,
        "prequeue_opens_at": opening.prequeue_opens_at,
        "admit_per_wave": opening.admit_per_wave,
        "admit_every_s": opening.admit_every_ms / 1000,
        "proof_bits": opening.proof_bits,
        "commitment": view.commitment or None,
        "seed": view.revealed,
    }


def event_body(view: EventView, result: str) -> dict[str, Any]:
    return EventResponse(
        result=result,
        event_id=view.event_id,
        name=view.name,
        total_stock=view.total_stock,
        remaining=view.remaining,
        issued=view.issued,
        status=view.status,
        starts_at=from_ms(view.starts_at_ms),
        ends_at=from_ms(view.ends_at_ms),
        created_at=from_ms(view.created_at_ms),
        **_opening_fields(view),
    ).model_dump(mode="json")


@router.post(
    "/v1/events",
    status_code=201,
    response_model=EventResponse,
    responses={
        200: {"model": EventResponse, "description": "ok: created before with this definition"},
        **problems(400, 401, 403, 409, 413, 415, 422, 503),
    },
    summary="Create an event (admin); the same definition again answers 200",
    tags=["events"],
)
async def create_event(body: CreateEventRequest, svc: Svc, credentials: Bearer) -> Response:
    event = body.event()
    found = await permitted(svc, credentials, "events:write", "events.create", event.event_id)
    if isinstance(found, Response):
        return found
    audit = draft(found, "events.create", event.event_id, total_stock=event.total_stock)
    async with svc.admin_gate:
        try:
            view, created = await svc.events.create(event)
        except EventExists:
            await svc.audit(audit.ended(409, "exists"))
            return problem_response(409, "exists", say("event_exists", event_id=event.event_id))
    await svc.audit(audit.ended(201 if created else 200, "created" if created else "ok"))
    if created:
        return JSONResponse(event_body(view, "created"), 201)
    return JSONResponse(event_body(view, "ok"), 200)


@router.get(
    "/v1/events/{event_id}",
    response_model=EventResponse,
    responses=problems(404, 405, 422, 503),
    summary="Stock left, issued count and status of an event",
    tags=["events"],
)
async def get_event(event_id: EventId, svc: Svc) -> Response:
    view = await svc.events.get(event_id)
    if view is None:
        return problem_response(404, "not_found", "No event with this id.", event_id=event_id)
    return JSONResponse(event_body(view, "ok"))


@router.get(
    "/v1/events/{event_id}/issuances/{user_id}",
    response_model=IssueResponse,
    responses=problems(401, 403, 404, 405, 422, 503),
    summary="The coupon a user holds for an event (with signed identity: one's own only)",
    tags=["issue"],
)
async def get_issuance(
    event_id: EventId, user_id: UserId, svc: Svc, credentials: Bearer
) -> Response:
    if svc.identity is not None:  # a coupon code is the holder's alone to read
        refused = not_the_holder(svc.identity, credentials, user_id)
        if refused is not None:
            return refused
    held = await svc.events.issuance(event_id, user_id)
    if held is None:
        return problem_response(
            404, "not_found", say("no_issuance"), event_id=event_id, user_id=user_id
        )
    return JSONResponse(win_body(svc.signer, event_id, user_id, already_issued(*held)))


def not_the_holder(
    identity: Identity, credentials: HTTPAuthorizationCredentials | None, user_id: str
) -> Response | None:
    raw = f"Bearer {credentials.credentials}".encode() if credentials else None
    try:
        claimed_user(identity, raw, user_id)
    except NotAuthenticated as exc:
        challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        return problem_response(401, "unauthorized", str(exc), headers=challenge)
    except NotYours as exc:
        return problem_response(403, "forbidden", str(exc))
    return None


@router.get("/healthz", summary="Liveness", tags=["ops"], responses=problems(405))
async def healthz() -> dict[str, str]:
    return {"result": "ok"}


@router.get(
    "/readyz", summary="Readiness: Redis reachable", tags=["ops"], responses=problems(405, 503)
)
async def readyz(svc: Svc) -> Response:
    try:
        async with asyncio.timeout(svc.settings.redis_timeout_ms / 1000):
            await svc.events.ping()
    except Exception:  # any failure to reach Redis means "not ready"
        return problem_response(
            503,
            "unavailable",
            say("redis_unreachable"),
            headers={"Retry-After": str(svc.settings.retry_after_s)},
        )
    return JSONResponse({"result": "ok"})


@router.get("/metrics", include_in_schema=False)
async def metrics(svc: Svc) -> Response:
    payload, content_type = svc.metrics.render()
    return Response(payload, media_type=content_type)
