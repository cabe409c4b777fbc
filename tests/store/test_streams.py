"""Outbox entries from raw replies in either protocol, and trimming a stream that is gone."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from couponrush.store.streams import entries_of, stream_gone, trim_acknowledged

S = "coupon:{e}:outbox"


def test_entries_from_every_reply_shape() -> None:
    entry = ["1-0", ["user_id", "u", "slot", "1"]]
    want = [("1-0", {"user_id": "u", "slot": "1"})]
    assert entries_of(S, {S: [entry]}) == want  # RESP3 XREADGROUP
    assert entries_of(S, [[S, [entry]]]) == want  # RESP2 XREADGROUP
    assert entries_of(S, [entry]) == want  # XCLAIM
    assert entries_of(S, None) == []
    assert entries_of(S, [["2-0", None]]) == [("2-0", None)]  # deleted meanwhile


async def test_trimming_a_stream_that_is_gone_is_a_no_op(redis: Redis) -> None:
    await trim_acknowledged(redis, "coupon:{gone}:outbox")


def test_a_stream_that_is_gone_is_recognised_also_inside_a_pipeline() -> None:
    nogroup = ResponseError("NOGROUP No such key 'coupon:{e}:outbox' or consumer group 'g'")
    unblocked = "UNBLOCKED the stream key no longer exists"
    piped = ResponseError(
        "Command # 2 (XREADGROUP GROUP g c STREAMS coupon:{e}:outbox >) of "
        f"pipeline caused error: ('{unblocked}',)"
    )
    assert stream_gone(nogroup)
    assert stream_gone(piped)
    assert not stream_gone(ResponseError("ERR syntax error"))
