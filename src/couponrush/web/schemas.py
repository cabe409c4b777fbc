"""Request and response bodies of the HTTP API (DESIGN §4)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)

from couponrush.core.event import Event, EventStatus
from couponrush.core.ids import (
    EVENT_ID_RE,
    EVENT_ID_RULE,
    MAX_TOTAL_STOCK,
    USER_ID_RE,
    USER_ID_RULE,
)

EventId = Annotated[
    str, StringConstraints(strict=True, pattern=EVENT_ID_RE), Field(description=EVENT_ID_RULE)
]
UserId = Annotated[
    str, StringConstraints(strict=True, pattern=USER_ID_RE), Field(description=USER_ID_RULE)
]
EventName = Annotated[str, StringConstraints(strict=True, pattern=r"^[^\x00-\x1f\x7f]{1,200}$")]

# Fields are strict one by one (no "42" -> 42); datetimes still parse from RFC 3339 text.
_STRICT = ConfigDict(extra="forbid")


class IssueRequest(BaseModel):
    model_config = _STRICT
    user_id: UserId


class CreateEventRequest(BaseModel):
    model_config = _STRICT
    event_id: EventId
    name: EventName
    total_stock: StrictInt = Field(ge=1, le=MAX_TOTAL_STOCK)
    starts_at: AwareDatetime | None = Field(default=None, description="RFC 3339; absent = now")
    ends_at: AwareDatetime | None = Field(default=None, description="RFC 3339; absent = never")

    @model_validator(mode="after")
    def _window(self) -> CreateEventRequest:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self

    def event(self) -> Event:
        return Event(self.event_id, self.name, self.total_stock, self.starts_at, self.ends_at)


class IssueResponse(BaseModel):
    result: Literal["issued", "already_issued"]
    event_id: str
    user_id: str
    slot: int = Field(ge=1, description="Order in which Redis accepted the win, 1..total")
    coupon_code: str
    issued_at: datetime


class EventResponse(BaseModel):
    result: Literal["ok", "created"]
    event_id: str
    name: str
    total_stock: int
    remaining: int
    issued: int
    status: EventStatus
    starts_at: datetime | None
    ends_at: datetime | None


class Problem(BaseModel):
    """RFC 9457 problem details, with the stable ``result`` code."""

    type: str
    title: str
    status: int
    detail: str
    result: str
