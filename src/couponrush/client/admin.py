"""The calls of a season: the event list, its changes, coupons at checkout, the audit log.

Every one of them is safe to send again (a repeated close, archive, PATCH with the same
values, redeem for the same order or revoke gets the same answer), so the client retries
429, 503 and network errors for them as for issuing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from couponrush.client.calls import Call, fail, segment
from couponrush.client.outcome import Reply
from couponrush.web.schemas import EventResponse
from couponrush.web.season_schemas import AuditPage, CouponResponse, EventPage, TokenInfo

M = TypeVar("M", bound=BaseModel)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _answer(model: type[M]) -> Any:
    def finish(reply: Reply) -> M:
        if reply.status == 200:
            return model.model_validate(reply.body)
        raise fail(reply)

    return finish


def _query(**params: object) -> str:
    parts = []
    for name, value in params.items():
        values = value if isinstance(value, list | tuple) else [value]
        parts += [f"{name}={quote(str(v), safe='')}" for v in values if v is not None]
    return "?" + "&".join(parts) if parts else ""


def list_events(statuses: Sequence[str], cursor: str | None, limit: int) -> Call[EventPage]:
    path = "/v1/events" + _query(status=list(statuses), cursor=cursor, limit=limit)
    return Call("GET", path, _answer(EventPage))


def update_event(event_id: str, token: str, **fields: Any) -> Call[EventResponse]:
    """``fields``: name, starts_at, ends_at (a datetime, or None for none), total_stock."""
    body = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}
    path = f"/v1/events/{segment(event_id)}"
    return Call("PATCH", path, _answer(EventResponse), body, _auth(token))


def event_action(event_id: str, action: str, token: str) -> Call[EventResponse]:
    """``action``: close or archive."""
    path = f"/v1/events/{segment(event_id)}/{action}"
    return Call("POST", path, _answer(EventResponse), None, _auth(token))


def get_coupon(code: str, token: str) -> Call[CouponResponse]:
    return Call("GET", f"/v1/coupons/{segment(code)}", _answer(CouponResponse), None, _auth(token))


def coupon_action(code: str, action: str, body: dict[str, str], token: str) -> Call[CouponResponse]:
    """``action``: redeem {"order_id"} or revoke {"reason"}."""
    path = f"/v1/coupons/{segment(code)}/{action}"
    return Call("POST", path, _answer(CouponResponse), body, _auth(token))


def audit(
    token: str, cursor: str | None, limit: int, action: str | None, target: str | None
) -> Call[AuditPage]:
    path = "/v1/audit" + _query(cursor=cursor, limit=limit, action=action, target=target)
    return Call("GET", path, _answer(AuditPage), None, _auth(token))


def current_token(token: str) -> Call[TokenInfo]:
    return Call("GET", "/v1/tokens/current", _answer(TokenInfo), None, _auth(token))
