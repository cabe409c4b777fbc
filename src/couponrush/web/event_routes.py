"""The season's event routes: the list, PATCH, close, archive and the winners export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from couponrush.core.event import EventStatus
from couponrush.core.season import Amendment
from couponrush.web.auth import draft, permitted
from couponrush.web.exports import FORMATS, Format, lines
from couponrush.web.lifecycle import LifecycleService
from couponrush.web.openapi import problems
from couponrush.web.responses import JSONResponse, problem_response
from couponrush.web.routes import Bearer, Svc, event_body
from couponrush.web.schemas import EventId, EventResponse
from couponrush.web.season import required
from couponrush.web.season_schemas import Cursor, EventPage, EventPatch
from couponrush.web.wiring import Services

router = APIRouter(tags=["events"])
_CHANGE_409 = {409: "archived / already_started / stock_lowered: the event's state refuses it"}


def _lifecycle(svc: Services) -> LifecycleService:
    season = required(svc.season)
    return LifecycleService(svc.lifecycle, season.rows, svc.events.store, svc.admin_gate)


@router.get(
    "/v1/events",
    response_model=EventPage,
    responses=problems(405, 422, 503),
    summary="Events, newest first, a page at a time (status: any of, repeatable)",
)
async def list_events(
    svc: Svc,
    status: Annotated[list[EventStatus] | None, Query()] = None,
    cursor: Annotated[Cursor | None, Query(description="next_cursor of the page before")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    season = required(svc.season)
    views, after = await svc.events.page(season.rows, status or [], cursor, limit)
    items = [event_body(v, "ok") for v in views]
    return JSONResponse({"result": "ok", "items": items, "next_cursor": after})


@router.patch(
    "/v1/events/{event_id}",
    response_model=EventResponse,
    responses=problems(401, 403, 404, 405, 409, 413, 415, 422, 503, described=_CHANGE_409),
    summary="Rename, move the window (starts_at only before the opening), or top up (admin)",
)
async def patch_event(
    event_id: EventId, body: EventPatch, svc: Svc, credentials: Bearer
) -> Response:
    change: Amendment = body.amendment()
    found = await permitted(svc, credentials, "events:write", "events.patch", event_id)
    if isinstance(found, Response):
        return found
    wrong = body.window_error()
    if wrong is not None:
        return problem_response(422, "invalid", wrong)
    asked = body.model_dump(mode="json", exclude_unset=True)
    view = await _lifecycle(svc).amend(
        event_id, change, draft(found, "events.patch", event_id, **asked)
    )
    return JSONResponse(event_body(view, "ok"))


@router.post(
    "/v1/events/{event_id}/close",
    response_model=EventResponse,
    responses=problems(401, 403, 404, 405, 409, 415, 422, 503, described={409: "archived"}),
    summary="End issuing now: later answers are closed (admin)",
)
async def close_event(event_id: EventId, svc: Svc, credentials: Bearer) -> Response:
    found = await permitted(svc, credentials, "events:write", "events.close", event_id)
    if isinstance(found, Response):
        return found
    view = await _lifecycle(svc).close(event_id, draft(found, "events.close", event_id))
    return JSONResponse(event_body(view, "ok"))


@router.post(
    "/v1/events/{event_id}/archive",
    response_model=EventResponse,
    responses=problems(
        401,
        403,
        404,
        405,
        409,
        415,
        422,
        503,
        described={409: "not_finished: still open or to come"},
    ),
    summary="Take a finished event out of every sweep, the feed and the metrics (admin)",
)
async def archive_event(event_id: EventId, svc: Svc, credentials: Bearer) -> Response:
    found = await permitted(svc, credentials, "events:write", "events.archive", event_id)
    if isinstance(found, Response):
        return found
    view = await _lifecycle(svc).archive(event_id, draft(found, "events.archive", event_id))
    return JSONResponse(event_body(view, "ok"))


@router.get(
    "/v1/events/{event_id}/winners",
    responses={
        200: {
            "description": "Every winner by slot, streamed from the database",
            "content": {media: {"schema": {"type": "string"}} for media in FORMATS.values()},
        },
        **problems(401, 403, 404, 405, 422, 503),
    },
    response_class=StreamingResponse,
    summary="The winners as CSV (with a header row) or JSON Lines (admin, viewer)",
)
async def winners(
    event_id: EventId,
    svc: Svc,
    credentials: Bearer,
    fmt: Annotated[Format, Query(alias="format")] = "csv",
) -> Response:
    found = await permitted(svc, credentials, "events:export", "events.export", event_id)
    if isinstance(found, Response):
        return found
    season = required(svc.season)
    if await season.rows.get(event_id) is None:
        return problem_response(404, "not_found", "No event with this id.", event_id=event_id)
    await svc.audit(draft(found, "events.export", event_id, format=fmt).ended(200, "ok"))
    disposition = f'attachment; filename="{event_id}-winners.{fmt}"'
    return StreamingResponse(
        _streamed(svc, event_id, fmt),
        media_type=FORMATS[fmt],
        headers={"Content-Disposition": disposition},
    )


async def _streamed(svc: Services, event_id: str, fmt: Format) -> AsyncIterator[bytes]:
    season = required(svc.season)
    async with svc.export_gate:
        async for chunk in lines(season.coupons.winners(event_id), fmt):
            yield chunk
