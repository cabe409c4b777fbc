"""Request and response bodies of the HTTP API (DESIGN §4)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
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
from couponrush.core.queue import MAX_PROOF_BITS, Opening, OpeningMode

EventId = Annotated[
    str, StringConstraints(strict=True, pattern=EVENT_ID_RE), Field(description=EVENT_ID_RULE)
]
UserId = Annotated[
    str, StringConstraints(strict=True, pattern=USER_ID_RE), Field(description=USER_ID_RULE)
]
EventName = Annotated[str, StringConstraints(strict=True, pattern=r"^[^\x00-\x1f\x7f]{1,200}$")]

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
).match


def _integral(value: object) -> object:
    """JSON Schema's integer admits 25901.0: take an integral float as its int (still no
    "42" string and no 1.5)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _rfc3339(value: object) -> object:
    """Only RFC 3339 text is a time here: no epoch numbers, no bare dates."""
    if not isinstance(value, str) or not _RFC3339(value):
        raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2030-01-01T09:00:00Z")
    return value


Stock = Annotated[StrictInt, BeforeValidator(_integral)]
Rfc3339 = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
# Spelt out for the schema: beside None (a union), the constraints of Stock's validator
# would not come out as minimum and maximum.
WaveSize = Annotated[
    Stock,
    Field(ge=1, le=MAX_TOTAL_STOCK),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_TOTAL_STOCK}),
]
WaveEvery = Annotated[float, Field(strict=True, ge=0.1, le=3600, allow_inf_nan=False)]
ProofBits = Annotated[
    Stock,
    Field(ge=0, le=MAX_PROOF_BITS),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": MAX_PROOF_BITS}),
]

_OPENING = (
    '"fifo" (first come, first served) or "shuffled": a pre-queue from prequeue_opens_at, '
    "its order drawn from a committed seed revealed at starts_at, then admission in waves "
    "(docs/fair-opening.md)"
)
_PREQUEUE = (
    "shuffled only: when joining the queue opens (RFC 3339); absent or null: at once. "
    "Must be before starts_at (422 invalid otherwise)."
)
_WAVE = "shuffled only: positions each wave admits; absent or null: the stock and a tenth"
_EVERY = "shuffled only: seconds between waves (default 2)"
_PROOF = "shuffled only: leading zero bits of the proof of work a join must bring (0: none)"
_QUEUE_FIELDS = ("prequeue_opens_at", "admit_per_wave", "admit_every_s", "proof_bits")


def every_ms(seconds: float | None) -> int:
    return Opening().admit_every_ms if seconds is None else round(seconds * 1000)


def opening_error(mode: str | None, starts_at: datetime | None, given: dict[str, object]) -> str:
    """What is wrong with an opening's fields (those ``given`` beside the mode), or ""."""
    queue = [k for k in _QUEUE_FIELDS if given.get(k) not in (None, 0)]
    if mode == "fifo" and queue:
        return f'{queue[0]} is only for opening "shuffled"'
    prequeue = given.get("prequeue_opens_at")
    if isinstance(prequeue, datetime) and (starts_at is None or prequeue >= starts_at):
        return "prequeue_opens_at must be before starts_at"
    return ""


# Fields are strict one by one (no "42" -> 42); datetimes parse from RFC 3339 text only.
_STRICT = ConfigDict(extra="forbid")


class IssueRequest(BaseModel):
    model_config = _STRICT
    user_id: UserId


class IssueClaim(BaseModel):
    """The issue body when a signed identity names the user: user_id may be left out."""

    model_config = _STRICT
    user_id: UserId | None = None


class CreateEventRequest(BaseModel):
    model_config = _STRICT
    event_id: EventId
    name: EventName
    total_stock: Stock = Field(ge=1, le=MAX_TOTAL_STOCK)
    starts_at: Rfc3339 | None = Field(
        default=None,
        description="RFC 3339 with an offset; absent = open now. Must be before ends_at "
        "when both are given (422 invalid otherwise).",
    )
    ends_at: Rfc3339 | None = Field(
        default=None,
        description="RFC 3339 with an offset; absent = never closes. Must be after "
        "starts_at when both are given (422 invalid otherwise).",
    )
    opening: OpeningMode = Field(default="fifo", description=_OPENING)
    prequeue_opens_at: Rfc3339 | None = Field(default=None, description=_PREQUEUE)
    admit_per_wave: WaveSize | None = Field(default=None, description=_WAVE)
    admit_every_s: WaveEvery | None = Field(default=None, description=_EVERY)
    proof_bits: ProofBits = Field(default=0, description=_PROOF)

    @model_validator(mode="after")
    def _window(self) -> CreateEventRequest:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        wrong = opening_error(self.opening, self.starts_at, self.model_dump())
        if wrong:
            raise ValueError(wrong)
        return self

    def event(self) -> Event:
        opening = Opening(
            self.opening,
            self.prequeue_opens_at,
            self.admit_per_wave,
            every_ms(self.admit_every_s),
            self.proof_bits,
        )
        return Event(
            self.event_id, self.name, self.total_stock, self.starts_at, self.ends_at, opening
        )


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
    created_at: datetime | None = None
    opening: OpeningMode = "fifo"
    prequeue_opens_at: datetime | None = None
    admit_per_wave: int | None = Field(default=None, description="null: the stock and a tenth")
    admit_every_s: float | None = None
    proof_bits: int = 0
    commitment: str | None = Field(
        default=None, description="shuffled: SHA-256 (hex) of the seed, published at creation"
    )
    seed: str | None = Field(default=None, description="shuffled: the seed (hex), from starts_at")


# Every result code a problem body can carry: the app's and the gateway's own.
ProblemResult = Literal[
    "not_found",
    "not_open",
    "closed",
    "sold_out",
    "rate_limited",
    "unavailable",
    "overloaded",
    "invalid",
    "malformed_json",
    "payload_too_large",
    "unsupported_media_type",
    "method_not_allowed",
    "unauthorized",
    "forbidden",
    "exists",
    "bad_request",
    "timeout",
    "uri_too_long",
    "headers_too_large",
    "not_implemented",
    "version_not_supported",
    "http_error",
    "already_started",
    "stock_lowered",
    "not_finished",
    "archived",
    "already_redeemed",
    "revoked",
    "bad_signature",
    "not_admitted",
    "no_queue",
    "bad_proof",
]


class Problem(BaseModel):
    """RFC 9457 problem details, with the stable ``result`` code; some carry more members
    (event_id, starts_at, errors, ...)."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    result: ProblemResult
