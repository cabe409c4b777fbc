"""The pipelining batcher: NOSCRIPT recovery and a deadline when Redis is gone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import MovedError

from couponrush.core.errors import StoreUnavailable
from couponrush.stack.procs import free_port
from couponrush.store import batcher as batcher_module
from couponrush.store.batcher import IssueBatcher
from couponrush.store.nodes import ReplicaWait, Topology
from couponrush.store.scripts import Scripts
from couponrush.web.issuer import Issuer
from couponrush.web.soldout import SoldOutCache
from tests.fakes import FakeFrozen
from tests.helpers import issue_via

from .test_lua import create


async def test_many_calls_of_one_tick_share_a_pipeline_and_all_resolve(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    await create(redis, scripts, event_id, 50)
    batcher = IssueBatcher(Topology(redis), scripts, 2.0, 16)
    calls = [issue_via(batcher, event_id, f"u{i}") for i in range(80)]
    replies = await asyncio.gather(*calls)
    results = [r[0] for r in replies]
    assert results.count("ISSUED") == 50
    assert results.count("SOLD_OUT") == 30
    assert sorted(r[1] for r in replies if r[0] == "ISSUED") == list(range(1, 51))


async def test_noscript_after_a_flush_is_recovered(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    await create(redis, scripts, event_id, 5)
    await redis.script_flush()
    batcher = IssueBatcher(Topology(redis), scripts, 2.0, 16)
    reply = await issue_via(batcher, event_id, "u1")
    assert reply[0] == "ISSUED"


async def test_unreachable_redis_fails_fast_with_a_retryable_error(scripts: Scripts) -> None:
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=5)
    batcher = IssueBatcher(Topology(dead), scripts, 0.3, 16)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await issue_via(batcher, "x", "u1")
    assert time.monotonic() - started < 2
    await dead.aclose()


async def test_a_redis_that_never_answers_hits_the_deadline(scripts: Scripts) -> None:
    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read(1 << 20)  # take the request, never reply
            await reader.read()  # until the client hangs up
        finally:
            writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    silent = Redis.from_url(f"redis://127.0.0.1:{port}/0")
    batcher = IssueBatcher(Topology(silent), scripts, 0.3, 16)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await issue_via(batcher, "x", "u1")
    assert time.monotonic() - started < 2
    await silent.aclose()
    server.close()
    await server.wait_closed()


class Broken(Exception):
    """A failure injected into the batcher's settle path."""


async def _hang(*_: Any) -> None:
    await asyncio.Event().wait()


def _raise(*_: Any) -> None:
    raise Broken


class RaisingWait(ReplicaWait):
    def confirms(self, replies: Sequence[object]) -> bool:
        raise Broken


def _replies(*one: Any) -> Callable[..., Awaitable[list[Any]]]:
    """exchange_on() answering each EVALSHA of a pipeline with ``one`` reply (then the rest)."""

    async def exchange(_: Any, commands: Sequence[Sequence[Any]]) -> list[Any]:
        return [one[0] if c[0] == "EVALSHA" else (one[1] if len(one) > 1 else 0) for c in commands]

    return exchange


# Each way the settle path can fail: the call must be answered 503 within its deadline and
# the worker's in-flight count must go back to zero.
FAILURES: dict[str, dict[str, Any]] = {
    "the observer raises after the round trip": {"observe": _raise},
    "the confirmation raises": {"wait": RaisingWait(1, 10)},
    "a reply of the wrong shape": {"exchange": _replies("nonsense")},
    "patching the slot map raises (MOVED)": {
        "exchange": _replies(MovedError("1 127.0.0.1:1")),
        "moved": _raise,
    },
    "patching the slot map never ends (MOVED)": {
        "exchange": _replies(MovedError("1 127.0.0.1:1")),
        "moved": _hang,
    },
    "the pipeline never returns": {"exchange": _hang},
    "the connection fails": {"exchange": _raise},
}


@pytest.mark.parametrize("failure", list(FAILURES))
async def test_every_call_is_answered_within_its_deadline_whatever_fails(
    redis: Redis, scripts: Scripts, event_id: str, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    injected = FAILURES[failure]
    await create(redis, scripts, event_id, 50)
    topology = Topology(redis)
    if "moved" in injected:
        monkeypatch.setattr(topology, "moved", injected["moved"])
    if "exchange" in injected:
        monkeypatch.setattr(batcher_module, "exchange_on", injected["exchange"])
    batcher = IssueBatcher(
        topology, scripts, 0.3, 16, wait=injected.get("wait"), observe=injected.get("observe")
    )
    issuer = Issuer(batcher, SoldOutCache(FakeFrozen(), 1.0, 2.0), 64)
    started = time.monotonic()
    calls = [issuer.issue(e, f"u{i}", "r") for i in range(6) for e in (event_id, f"{event_id}-b")]
    answers = await asyncio.gather(*calls, return_exceptions=True)
    assert time.monotonic() - started < 1.5
    assert all(isinstance(a, StoreUnavailable) for a in answers), answers
    assert issuer.in_flight == 0
