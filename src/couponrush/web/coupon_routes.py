"""Coupons at checkout: verify a code, redeem it once for one order, or revoke it.

A code is an HMAC of (event, slot, user): it names nothing by itself, so a coupon is
found by its code in the database (UNIQUE(coupon_code)), and its signature is checked
against its row. A coupon issued a moment ago is found once the pipeline persisted it
(within a second, docs/observability.md's lag); until then it answers 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from couponrush.core.coupon import Coupon, canonical_code
from couponrush.core.errors import CouponNotFound
from couponrush.db.coupons import Done
from couponrush.web.auth import draft, permitted
from couponrush.web.openapi import problems
from couponrush.web.responses import JSONResponse, problem_response
from couponrush.web.routes import Bearer, Svc
from couponrush.web.season import required
from couponrush.web.season_schemas import CouponCode, CouponResponse, RedeemRequest, RevokeRequest
from couponrush.web.wiring import Services

router = APIRouter(tags=["coupons"])
_DETAILS = {
    "already_redeemed": "This coupon was redeemed for another order.",
    "revoked": "This coupon was revoked.",
    "bad_signature": "This code does not match its coupon's event, slot and user.",
}


def signed(svc: Services, coupon: Coupon) -> bool:
    return coupon.coupon_code == svc.signer.code(coupon.event_id, coupon.slot, coupon.user_id)


def coupon_body(svc: Services, coupon: Coupon, result: str) -> dict[str, Any]:
    return CouponResponse(
        result=result,
        signature_valid=signed(svc, coupon),
        coupon_code=coupon.coupon_code,
        event_id=coupon.event_id,
        user_id=coupon.user_id,
        slot=coupon.slot,
        state=coupon.state,
        issued_at=coupon.issued_at,
        order_id=coupon.order_id,
        redeemed_at=coupon.redeemed_at,
        revoked_at=coupon.revoked_at,
        revoke_reason=coupon.revoke_reason,
    ).model_dump(mode="json")


def _answer(svc: Services, done: Done, success: str) -> Response:
    coupon, result, _ = done
    if coupon is None:
        raise CouponNotFound
    if result != success:
        return problem_response(409, result, _DETAILS[result], state=coupon.state)
    return JSONResponse(coupon_body(svc, coupon, result))


@router.get(
    "/v1/coupons/{code}",
    response_model=CouponResponse,
    responses=problems(401, 403, 404, 405, 422, 503),
    summary="Verify a coupon: its signature, event, slot, user and state (any token)",
)
async def verify(code: CouponCode, svc: Svc, credentials: Bearer) -> Response:
    found = await permitted(svc, credentials, "coupons:read", "coupons.verify", code)
    if isinstance(found, Response):
        return found
    coupon = await required(svc.season).coupons.find(canonical_code(code))
    if coupon is None:
        raise CouponNotFound
    return JSONResponse(coupon_body(svc, coupon, "ok"))


@router.post(
    "/v1/coupons/{code}/redeem",
    response_model=CouponResponse,
    responses=problems(
        400,
        401,
        403,
        404,
        405,
        409,
        413,
        415,
        422,
        503,
        described={409: "already_redeemed (another order) / revoked / bad_signature"},
    ),
    summary="Redeem once, for one order; the same order again gets the same answer "
    "(admin, redeemer)",
)
async def redeem(code: CouponCode, body: RedeemRequest, svc: Svc, credentials: Bearer) -> Response:
    key = canonical_code(code)
    found = await permitted(svc, credentials, "coupons:redeem", "coupons.redeem", key)
    if isinstance(found, Response):
        return found
    audit = draft(found, "coupons.redeem", key, order_id=body.order_id)
    done = await required(svc.season).coupons.redeem(
        key, body.order_id, lambda c: signed(svc, c), audit
    )
    return _answer(svc, done, "redeemed")


@router.post(
    "/v1/coupons/{code}/revoke",
    response_model=CouponResponse,
    responses=problems(
        400, 401, 403, 404, 405, 409, 413, 415, 422, 503, described={409: "already_redeemed"}
    ),
    summary="Revoke a coupon that was not redeemed; again: the same answer (admin)",
)
async def revoke(code: CouponCode, body: RevokeRequest, svc: Svc, credentials: Bearer) -> Response:
    key = canonical_code(code)
    found = await permitted(svc, credentials, "coupons:revoke", "coupons.revoke", key)
    if isinstance(found, Response):
        return found
    audit = draft(found, "coupons.revoke", key, reason=body.reason)
    done = await required(svc.season).coupons.revoke(key, body.reason, audit)
    return _answer(svc, done, "revoked")
