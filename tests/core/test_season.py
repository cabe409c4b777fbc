"""The season's pure rules: when an event leaves the live index, a create's definition,
the cursors, coupon redemption, and the merge of a restore."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from couponrush.core.coupon import Coupon, CouponState, canonical_code, redemption, revocation
from couponrush.core.event import Event
from couponrush.core.reconcile import merge
from couponrush.core.season import (
    BadCursor,
    Liveness,
    decode_cursor,
    definition,
    encode_cursor,
    retirable,
)


def _state(**kw: object) -> Liveness:
    base: dict[str, object] = {
        "has_meta": True,
        "archived": False,
        "ends_at_ms": None,
        "stock": 5,
        "last_win_ms": None,
        "drained": True,
    }
    return Liveness(**{**base, **kw})  # type: ignore[arg-type]


def test_an_event_leaves_only_finished_drained_and_past_its_linger() -> None:
    assert not retirable(_state(), 10_000, 0, 0)  # open, no end
    assert not retirable(_state(ends_at_ms=9_000, drained=False), 10_000, 0, 0)
    assert retirable(_state(ends_at_ms=9_000), 10_000, 1_000, 0)
    assert not retirable(_state(ends_at_ms=9_500), 10_000, 1_000, 0)  # finished recently
    assert retirable(_state(stock=0, last_win_ms=2_000), 10_000, 1_000, 0)  # sold out
    assert not retirable(_state(stock=0, last_win_ms=None), 10_000, 1_000, 0)
    assert retirable(_state(archived=True), 10_000, 10**9, 0)
    assert retirable(_state(has_meta=False), 10_000, 1_000, 5_000)
    assert not retirable(_state(has_meta=False), 10_000, 1_000, 9_500)


def test_a_definition_is_the_same_text_for_the_same_event() -> None:
    at = datetime(2030, 1, 1, tzinfo=UTC)
    one = Event("e", "Sale", 5, at, None)
    assert definition(one) == definition(Event("e", "Sale", 5, at, None))
    assert definition(one) != definition(Event("e", "Sale", 6, at, None))


def test_cursors_go_round_and_refuse_what_they_did_not_make() -> None:
    assert decode_cursor(encode_cursor(1_700_000_000_123_456, "spring")) == (
        1_700_000_000_123_456,
        "spring",
    )
    for bad in ("", "***", "AAAA", encode_cursor(1)[:-1] + "!"):
        with pytest.raises(BadCursor):
            decode_cursor(bad)


def _coupon(state: CouponState, order: str | None = None) -> Coupon:
    at = datetime.now(UTC)
    return Coupon("ABCD-EFGH-IJKL-MNOP", "e", "u", 1, at, state, order, None, None, None)


def test_a_coupon_is_redeemed_once_and_revoked_only_unredeemed() -> None:
    assert redemption(_coupon("issued"), "o1", True) == ("redeemed", True)
    assert redemption(_coupon("redeemed", "o1"), "o1", True) == ("redeemed", False)
    assert redemption(_coupon("redeemed", "o1"), "o2", True) == ("already_redeemed", False)
    assert redemption(_coupon("revoked"), "o1", True) == ("revoked", False)
    assert redemption(_coupon("issued"), "o1", False) == ("bad_signature", False)
    assert revocation(_coupon("issued")) == ("revoked", True)
    assert revocation(_coupon("revoked")) == ("revoked", False)
    assert revocation(_coupon("redeemed", "o1")) == ("already_redeemed", False)
    assert canonical_code("abcdefghijklmnop") == "ABCD-EFGH-IJKL-MNOP"


def test_a_restore_merges_every_holder_and_resumes_above_the_highest_slot() -> None:
    rows = [("a", 1, 10), ("b", 2, 11)]
    queued = [("c", 4, 13), ("b", 2, 11)]
    redis = [("d", 3, 12), ("e", 2, 12)]
    found = merge(rows, queued, redis)
    assert found.winners == {"a": (1, 10), "b": (2, 11), "c": (4, 13), "d": (3, 12), "e": (2, 12)}
    assert max(found.slots) == 4
    assert found.conflicts == ["slot 2: b, also e"]
