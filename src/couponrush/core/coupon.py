"""A coupon after its sale: its states, its code as a cashier types it, and its record."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

CouponState = Literal["issued", "redeemed", "revoked"]
COUPON_STATES: tuple[CouponState, ...] = ("issued", "redeemed", "revoked")
# core.codes writes four groups of four base32 letters; typed in lower case or without the
# dashes it is the same code.
CODE_RE = r"^[A-Za-z2-7]{4}(-?[A-Za-z2-7]{4}){3}$"
CODE_RULE = "four groups of four letters A-Z and digits 2-7, with or without '-'"
ORDER_ID_RE = r"^[A-Za-z0-9][A-Za-z0-9._:/#@+-]{0,127}$"
ORDER_ID_RULE = "1-128 characters: letters, digits, '.', '_', ':', '/', '#', '@', '+', '-'"
_SEPARATORS = re.compile(r"-")


def canonical_code(text: str) -> str:
    """The code as core.codes writes it: upper case, dashes between the groups."""
    bare = _SEPARATORS.sub("", text).upper()
    return "-".join(bare[i : i + 4] for i in range(0, len(bare), 4))


@dataclass(frozen=True, slots=True)
class Coupon:
    """One persisted coupon (a row of coupon_issuances) and its state."""

    coupon_code: str
    event_id: str
    user_id: str
    slot: int
    issued_at: datetime
    state: CouponState
    order_id: str | None
    redeemed_at: datetime | None
    revoked_at: datetime | None
    revoke_reason: str | None


def redemption(coupon: Coupon, order_id: str, signed: bool) -> tuple[str, bool]:
    """The answer to redeeming ``coupon`` for ``order_id`` and whether it changes: once
    only; the same order again gets the same answer, another order is refused."""
    if not signed:
        return "bad_signature", False
    if coupon.state == "issued":
        return "redeemed", True
    if coupon.state == "redeemed":
        return ("redeemed", False) if coupon.order_id == order_id else ("already_redeemed", False)
    return "revoked", False


def revocation(coupon: Coupon) -> tuple[str, bool]:
    """The answer to revoking ``coupon`` and whether it changes; a redeemed one stays so."""
    if coupon.state == "issued":
        return "revoked", True
    if coupon.state == "revoked":
        return "revoked", False
    return "already_redeemed", False
