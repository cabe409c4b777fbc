"""The audit log (admin, viewer) and the caller's own token (any token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from couponrush.core.season import decode_cursor, encode_cursor
from couponrush.web.auth import permitted, principal_of, unauthorized
from couponrush.web.openapi import problems
from couponrush.web.responses import JSONResponse
from couponrush.web.routes import Bearer, Svc
from couponrush.web.season import required
from couponrush.web.season_schemas import AuditEntryModel, AuditPage, Cursor, Text, TokenInfo

router = APIRouter(tags=["access"])
Name = Annotated[Text, Query()]


@router.get(
    "/v1/audit",
    response_model=AuditPage,
    responses=problems(401, 403, 405, 422, 503),
    summary="Who did what, newest first: every admin, redeem and revoke action (admin, viewer)",
)
async def audit_log(
    svc: Svc,
    credentials: Bearer,
    cursor: Annotated[Cursor | None, Query(description="next_cursor of the page before")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    action: Name | None = None,
    target: Name | None = None,
) -> Response:
    found = await permitted(svc, credentials, "audit:read", "audit.read", "")
    if isinstance(found, Response):
        return found
    before = decode_cursor(cursor)[0] if cursor else None
    entries = await required(svc.season).audit.page(before, limit, action, target)
    items = [
        AuditEntryModel.model_validate(e, from_attributes=True).model_dump(mode="json")
        for e in entries
    ]
    after = encode_cursor(entries[-1].id) if len(entries) == limit else None
    return JSONResponse({"result": "ok", "items": items, "next_cursor": after})


@router.get(
    "/v1/tokens/current",
    response_model=TokenInfo,
    responses=problems(401, 405, 503),
    summary="The token of this request: its name and scope",
)
async def current_token(svc: Svc, credentials: Bearer) -> Response:
    principal = await principal_of(svc, credentials)
    if principal is None:
        return unauthorized()
    return JSONResponse(
        {
            "result": "ok",
            "token_id": principal.token_id,
            "name": principal.name,
            "scope": principal.scope,
        }
    )
