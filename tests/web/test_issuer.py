"""The issue use case and its HTTP answer against in-memory fakes of Redis's side."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from couponrush.core.codes import CodeSigner
from couponrush.core.errors import Overloaded, StoreUnavailable
from couponrush.web.issue import IssueEndpoint
from couponrush.web.issuer import Issuer
from couponrush.web.metrics import Metrics
from couponrush.web.request_id import RequestIds
from couponrush.web.soldout import SoldOutCache
from tests.fakes import FakeBatcher, FakeFrozen

LEASE_S = 2.0


@dataclass
class Clock:
    now: float = 100.0

    def __call__(self) -> float:
        return self.now


def issuer(
    batcher: FakeBatcher,
    frozen: FakeFrozen | None = None,
    max_in_flight: int = 8,
    clock: Clock | None = None,
) -> Issuer:
    cache = SoldOutCache(frozen or FakeFrozen(), 1.0, LEASE_S, clock or Clock())
    return Issuer(batcher, cache, max_in_flight)


async def settle() -> None:
    """Let the cache's background load finish."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_sold_out_event_is_answered_locally_after_the_first_sold_out() -> None:
    batcher = FakeBatcher([["SOLD_OUT"]])
    winners = FakeFrozen({"e1": {"winner": (1, 1_700_000_000_000)}})
    use_case = issuer(batcher, winners)
    assert (await use_case.issue("e1", "late", "r1")).result == "sold_out"
    await settle()
    again = await use_case.issue("e1", "later", "r2")
    back = await use_case.issue("e1", "winner", "r3")
    assert again.result == "sold_out"
    assert (back.result, back.slot) == ("already_issued", 1)
    assert len(batcher.calls) == 1  # the two later answers never reached Redis
    assert winners.loads == 1


async def sold_out_and_cached(
    clock: Clock, frozen: FakeFrozen, *more: list[object]
) -> tuple[Issuer, FakeBatcher]:
    batcher = FakeBatcher([["SOLD_OUT"], *more])
    use_case = issuer(batcher, frozen, clock=clock)
    await use_case.issue("e1", "first", "r0")
    await settle()
    return use_case, batcher


async def test_the_cache_checks_its_event_once_per_half_lease_not_per_request() -> None:
    clock, frozen = Clock(), FakeFrozen({"e1": {"w": (1, 1)}})
    use_case, batcher = await sold_out_and_cached(clock, frozen)
    for step in range(16):  # 2 s of requests, one every 1/8 s
        clock.now += 0.125
        assert (await use_case.issue("e1", f"u{step}", "r")).result == "sold_out"
        await settle()
    assert frozen.checks == 2  # at 1.0 s and at 2.0 s: each check renewed the lease
    assert len(batcher.calls) == 1


async def test_a_fenced_event_is_no_longer_answered_from_the_cache() -> None:
    clock, frozen = Clock(), FakeFrozen({"e1": {"w": (1, 1)}})
    use_case, batcher = await sold_out_and_cached(clock, frozen, ["ISSUED", 2, 5])
    frozen.fenced = True  # a restore is about to re-open it
    clock.now += LEASE_S / 2
    assert (await use_case.issue("e1", "a", "r")).result == "sold_out"  # still in its lease
    await settle()  # the check saw the fence
    assert (await use_case.issue("e1", "b", "r")).result == "issued"
    assert len(batcher.calls) == 2


async def test_past_its_lease_an_unverified_entry_sends_requests_to_redis() -> None:
    clock, frozen = Clock(), FakeFrozen({"e1": {"w": (1, 1)}})
    use_case, batcher = await sold_out_and_cached(clock, frozen, ["SOLD_OUT"])
    frozen.stamp = _unreachable  # type: ignore[method-assign]
    clock.now += LEASE_S + 0.01
    assert (await use_case.issue("e1", "a", "r")).result == "sold_out"
    assert len(batcher.calls) == 2  # answered by Redis, not from the lapsed entry


async def _unreachable(event_id: str) -> None:
    raise StoreUnavailable("Redis did not answer")


async def test_a_changed_stamp_reloads_the_winners_and_a_new_winner_gets_its_coupon() -> None:
    clock, frozen = Clock(), FakeFrozen({"e1": {"w": (1, 1)}})
    use_case, _ = await sold_out_and_cached(clock, frozen)
    frozen.winners["e1"] = {"w": (1, 1), "restored": (2, 2)}
    frozen.created_at = "2"  # a restore
    clock.now += LEASE_S / 2
    await use_case.issue("e1", "a", "r")
    await settle()
    back = await use_case.issue("e1", "restored", "r")
    assert (back.result, back.slot) == ("already_issued", 2)
    assert frozen.loads == 2


async def test_winners_are_answered_from_the_cache_only_once_the_replicas_hold_them() -> None:
    frozen = FakeFrozen({"e1": {"w": (1, 1)}}, replicas_hold=False)
    batcher = FakeBatcher([["SOLD_OUT"], ["DUPLICATE", 1, 1], ["SOLD_OUT"]])
    use_case = issuer(batcher, frozen)
    await use_case.issue("e1", "late", "r0")
    await settle()
    back = await use_case.issue("e1", "w", "r1")  # not cached: Redis (and its WAIT) answers
    assert (back.result, len(batcher.calls), frozen.confirms) == ("already_issued", 2, 1)
    frozen.replicas_hold = True
    await use_case.issue("e1", "later", "r2")
    await settle()
    again = await use_case.issue("e1", "w", "r3")
    assert (again.result, len(batcher.calls), frozen.confirms) == ("already_issued", 3, 2)


async def test_stock_left_keeps_asking_redis() -> None:
    batcher = FakeBatcher([["ISSUED", 1, 5], ["ISSUED", 2, 6]])
    use_case = issuer(batcher)
    assert (await use_case.issue("e1", "a", "r1")).slot == 1
    assert (await use_case.issue("e1", "b", "r2")).slot == 2
    assert [call[:2] for call in batcher.calls] == [("e1", "a"), ("e1", "b")]


async def test_the_in_flight_bound_refuses_at_once() -> None:
    batcher = FakeBatcher([])  # never answers: every call stays in flight
    use_case = issuer(batcher, max_in_flight=1)
    first = asyncio.create_task(use_case.issue("e1", "a", "r1"))
    await settle()
    with pytest.raises(Overloaded):
        await use_case.issue("e1", "b", "r2")
    first.cancel()


def endpoint_of(batcher: FakeBatcher, metrics: Metrics | None = None) -> IssueEndpoint:
    signer = CodeSigner(b"k" * 32)
    return IssueEndpoint(issuer(batcher), signer, metrics or Metrics(), 2048, 1, RequestIds())


async def _post(
    endpoint: IssueEndpoint, body: bytes, *headers: tuple[bytes, bytes]
) -> tuple[int, dict[bytes, bytes], Any]:
    """The route's answer as a server sends it: status, headers (the request id's too)."""
    given = dict(headers)

    async def read(limit: int, expected: int | None) -> bytes:
        return body

    head = (
        b"application/json",
        str(len(body)).encode(),
        given.get(b"x-request-id"),
        None,
        given.get(b"accept-language"),
    )
    reply, request_id = await endpoint.answer("POST", head, read, "e1")
    status, _, payload, found = reply
    sent = {k.encode(): v.encode() for k, v in found} | {b"x-request-id": request_id.encode()}
    return status, sent, orjson.loads(payload)


async def test_redis_past_its_deadline_is_503_unavailable_with_retry_after() -> None:
    batcher = FakeBatcher([StoreUnavailable("Redis did not answer: TimeoutError")])
    endpoint = IssueEndpoint(
        issuer(batcher), CodeSigner(b"k" * 32), Metrics(), 2048, 2, RequestIds()
    )
    status, headers, body = await _post(endpoint, b'{"user_id": "u1"}')
    assert (status, body["result"], headers[b"retry-after"]) == (503, "unavailable", b"2")


async def test_a_win_is_201_with_its_coupon() -> None:
    batcher = FakeBatcher([["ISSUED", 7, 1_700_000_000_000]])
    endpoint = endpoint_of(batcher)
    status, _, body = await _post(endpoint, b'{"user_id": "u1"}')
    assert (status, body["result"], body["slot"]) == (201, "issued", 7)
    assert body["coupon_code"] == CodeSigner(b"k" * 32).code("e1", 7, "u1")


async def test_the_request_id_is_echoed_and_goes_to_the_outbox() -> None:
    batcher = FakeBatcher([["ISSUED", n, 1_700_000_000_000] for n in (1, 2, 3)])
    endpoint = endpoint_of(batcher)
    _, given, _ = await _post(endpoint, b'{"user_id": "u1"}', (b"x-request-id", b"gw-42"))
    _, made, _ = await _post(endpoint, b'{"user_id": "u2"}')
    unusable = (b"x-request-id", b"bad id with spaces")
    _, replaced, _ = await _post(endpoint, b'{"user_id": "u3"}', unusable)
    assert given[b"x-request-id"] == b"gw-42"
    assert made[b"x-request-id"] not in (b"", b"gw-42")
    assert replaced[b"x-request-id"] != b"bad id with spaces"
    outbox_ids = [request_id for _, _, request_id in batcher.calls]
    assert outbox_ids[:2] == ["gw-42", made[b"x-request-id"].decode()]


async def test_answers_are_counted_with_their_latency_once_flushed() -> None:
    metrics = Metrics()
    endpoint = endpoint_of(FakeBatcher([["ISSUED", 1, 1_700_000_000_000]]), metrics)
    await _post(endpoint, b'{"user_id": "u1"}')
    await _post(endpoint, b"{")
    value = metrics.registry.get_sample_value
    assert value("couponrush_issue_latency_seconds_count") == 0  # not before the flush
    metrics.flush()
    assert value("couponrush_issue_requests_total", {"result": "issued"}) == 1
    assert value("couponrush_issue_requests_total", {"result": "malformed_json"}) == 1
    assert value("couponrush_issue_latency_seconds_count") == 2
    assert value("couponrush_issue_latency_seconds_bucket", {"le": "+Inf"}) == 2
    assert 0 < value("couponrush_issue_latency_seconds_sum") < 1  # type: ignore[operator]
