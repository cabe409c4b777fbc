"""Bodies of the season's routes: the event list and its changes, coupons at checkout,
the audit log and the caller's token (DESIGN §4)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from couponrush.core.coupon import CODE_RE, CODE_RULE, ORDER_ID_RE, ORDER_ID_RULE, CouponState
from couponrush.core.ids import MAX_TOTAL_STOCK
from couponrush.core.queue import OpeningMode
from couponrush.core.season import Amendment
from couponrush.core.tokens import Scope
from couponrush.web.schemas import (
    EventName,
    EventResponse,
    ProofBits,
    Rfc3339,
    Stock,
    WaveEvery,
    WaveSize,
    every_ms,
    opening_error,
)

CouponCode = Annotated[
    str, StringConstraints(strict=True, pattern=CODE_RE), Field(description=CODE_RULE)
]
OrderId = Annotated[
    str, StringConstraints(strict=True, pattern=ORDER_ID_RE), Field(description=ORDER_ID_RULE)
]
# Spelt out for the schema: beside None (a union), the constraints of Stock's validator
# would not come out as minimum and maximum.
TotalStock = Annotated[
    Stock,
    Field(ge=1, le=MAX_TOTAL_STOCK),
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_TOTAL_STOCK}),
]
# Free text of a query: no control characters (the database takes no NUL).
Text = Annotated[str, StringConstraints(strict=True, pattern=r"^[^\x00-\x1f\x7f]{1,200}$")]
# A cursor is opaque: only one this API gave is taken (else 422).
Cursor = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9_-]{1,200}$")]


class EventPage(BaseModel):
    result: Literal["ok"]
    items: list[EventResponse]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null: done")


# A PATCH's opening fields and their names in core.queue.Opening.
_OPENING_NAMES = {
    "opening": "mode",
    "prequeue_opens_at": "prequeue_opens_at",
    "admit_per_wave": "admit_per_wave",
    "proof_bits": "proof_bits",
}


class EventPatch(BaseModel):
    """The fields to change; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
    # Left out: unchanged. Null is no value for these two (the schema has no null for them).
    name: EventName | SkipJsonSchema[None] = None
    starts_at: Rfc3339 | None = Field(
        default=None, description="Only before the opening; null: open now"
    )
    ends_at: Rfc3339 | None = Field(
        default=None, description="In the future (extend, or re-open a closed event); null: never"
    )
    total_stock: TotalStock | SkipJsonSchema[None] = Field(
        default=None, description="Upward only: a top-up"
    )
    opening: OpeningMode | SkipJsonSchema[None] = Field(
        default=None,
        description="Only before the pre-queue and the sale opened (409 already_started)",
    )
    prequeue_opens_at: Rfc3339 | None = Field(
        default=None,
        description="shuffled only; only before the pre-queue and the sale opened; "
        "before starts_at; null: at once",
    )
    admit_per_wave: WaveSize | None = Field(
        default=None, description="shuffled only, before the opening; null: the stock and a tenth"
    )
    admit_every_s: WaveEvery | SkipJsonSchema[None] = Field(
        default=None, description="shuffled only, before the opening: seconds between waves"
    )
    proof_bits: ProofBits | SkipJsonSchema[None] = Field(
        default=None, description="shuffled only, at any time: the joins' proof of work"
    )

    @model_validator(mode="after")
    def _something(self) -> EventPatch:
        if not self.model_fields_set:
            raise ValueError("name the fields to change")
        for name in ("name", "total_stock", "opening", "admit_every_s", "proof_bits"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def window_error(self) -> str | None:
        """A window that ends before it starts, or an opening's fields that do not go
        together (checked by the route, after the token: a request without one is 401
        whatever its body). The rest is checked against the event (store.lifecycle)."""
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            return "ends_at must be after starts_at"
        given = self.model_dump(include=self.model_fields_set)
        starts = self.starts_at if "starts_at" in self.model_fields_set else None
        if "prequeue_opens_at" in given and "starts_at" not in given:
            given.pop("prequeue_opens_at")  # against the event's own starts_at: the script's
        return opening_error(self.opening, starts, given) or None

    def amendment(self) -> Amendment:
        opening = {
            _OPENING_NAMES[k]: getattr(self, k)
            for k in _OPENING_NAMES
            if k in self.model_fields_set
        }
        if "admit_every_s" in self.model_fields_set:
            opening["admit_every_ms"] = every_ms(self.admit_every_s)
        return Amendment(
            self.name,
            self.starts_at,
            self.ends_at,
            self.total_stock,
            frozenset(self.model_fields_set),
            opening,
        )


class CouponResponse(BaseModel):
    result: Literal["ok", "redeemed", "revoked"]
    coupon_code: str
    signature_valid: bool = Field(description="The code is the HMAC of its event, slot and user")
    event_id: str
    user_id: str
    slot: int
    state: CouponState
    issued_at: datetime
    order_id: str | None
    redeemed_at: datetime | None
    revoked_at: datetime | None
    revoke_reason: str | None


class RedeemRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: OrderId


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(strict=True, pattern=r"^[^\x00-\x1f\x7f]{1,500}$")]


class AuditEntryModel(BaseModel):
    id: int
    at: datetime
    token_id: int | None = Field(description="null: the bootstrap admin token of the settings")
    token_name: str
    scope: Scope
    action: str
    target: str
    status: int
    result: str
    request_id: str
    detail: dict[str, Any]


class AuditPage(BaseModel):
    result: Literal["ok"]
    items: list[AuditEntryModel]
    next_cursor: str | None


class TokenInfo(BaseModel):
    result: Literal["ok"]
    token_id: int | None = Field(description="null: the bootstrap admin token of the settings")
    name: str
    scope: Scope
