"""Bodies of a shuffled opening's queue routes (docs/fair-opening.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from couponrush.web.schemas import UserId

Proof = Annotated[
    str,
    StringConstraints(strict=True, pattern=r"^[A-Za-z0-9]{1,64}$"),
    Field(description="The proof of work's nonce: 1-64 letters and digits"),
]


class QueueJoin(BaseModel):
    """Join the queue: with signed identity, user_id must be the token's subject."""

    model_config = ConfigDict(extra="forbid")
    user_id: UserId
    proof: Proof | None = Field(
        default=None,
        description="Where the event's proof_bits > 0: a nonce whose SHA-1 of "
        "commitment:user_id:nonce starts with proof_bits zero bits (hashcash)",
    )


class QueuePlace(BaseModel):
    result: Literal["queued", "already_queued", "ok"]
    event_id: str
    user_id: str
    position: int | None = Field(
        ge=0, description="1-based place in the order served; null before the opening"
    )
    admitted: bool = Field(description="May issue now")
    admitted_upto: int = Field(ge=0, description="The last position admitted so far")
    enrolled: int = Field(ge=0, description="Everyone in the queue")
    estimated_wait_s: float = Field(ge=0, description="Until this place is admitted")
    starts_at: datetime


class QueueState(BaseModel):
    """The one small document for everyone in the queue: cacheable for poll_s, and served
    by the gateway's edge (docs/gateway.md)."""

    result: Literal["ok"]
    event_id: str
    prequeue_opens_at: datetime | None
    starts_at: datetime
    enrolled: int = Field(ge=0)
    admitted_upto: int = Field(ge=0, description="Positions up to this one may issue")
    sold_out: bool = Field(description="The queue is closed: stop waiting")
    closed: bool = Field(description="The sale's window is over")
    commitment: str = Field(description="SHA-256 (hex) of the seed, published at creation")
    seed: str | None = Field(description="The seed (hex), from the opening on; null before")
    estimated_wait_s: float = Field(ge=0, description="The wait of a newcomer, at the end")
    proof_bits: int = Field(ge=0)
    admit_per_wave: int = Field(ge=1, description="Positions each wave admits")
    admit_every_s: float = Field(gt=0, description="Seconds between waves")
    poll_s: int = Field(ge=1, description="Ask again after this long (also Cache-Control)")
    as_of: datetime


class QueueOrder(BaseModel):
    """Everything needed to recompute the order served: sort the pre-queue's tickets by
    HMAC-SHA256(seed, ticket); the late ones follow in their order. A ticket is the
    SHA-256 (hex) of event_id:user_id."""

    result: Literal["ok"]
    event_id: str
    commitment: str
    seed: str
    prequeue: list[str] = Field(description="The pre-queue's tickets, in the order served")
    late: list[str] = Field(description="The tickets of those who joined after the opening")
