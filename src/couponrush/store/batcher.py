"""Sends the issue calls of one event-loop tick to Redis as one pipeline per primary.

A request appends its call to the lane of the primary that owns its event (one lane in
standalone and Sentinel modes, one per shard in Cluster mode) and awaits a future; each
lane sends everything pending as one pipeline, and whatever arrives while that pipeline
is in flight goes out in the next one. Under load, batches grow by themselves; when idle a
call goes out on the next tick. Lanes run side by side, so a shard that fails over
delays its own events only.

With replicas, each pipeline ends with one WAIT: its answers are released only once enough
replicas hold its writes, else every call of it gets 503 (a win stays, so the retry
answers already_issued). A MOVED reply patches the slot map and a NOSCRIPT reply loads the
scripts on that node; as neither command ran, the call is tried once more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import structlog
from redis.exceptions import MovedError, NoScriptError

from couponrush.core.errors import StoreUnavailable
from couponrush.store.client import unavailable
from couponrush.store.nodes import ReplicaWait, Route, Topology, exchange
from couponrush.store.scripts import LuaScript, Scripts, check_sha

log = structlog.get_logger(__name__)
# Told of every batch Redis answered: its size and its round trip in seconds.
BatchObserver = Callable[[int, float], None]


@dataclass(slots=True)
class _Call:
    keys: Sequence[str]
    args: Sequence[str]
    future: asyncio.Future[list[Any]]
    retried: bool = False


@dataclass(slots=True)
class _Lane:
    """The calls bound for one primary."""

    pending: list[_Call] = field(default_factory=list)
    busy: bool = False
    load_scripts: bool = False


class ScriptBatcher:
    def __init__(self, topology: Topology, scripts: Scripts, script: LuaScript, timeout_s: float,
                 batch_max: int, wait: ReplicaWait | None = None,
                 observe: BatchObserver | None = None) -> None:  # fmt: skip
        self._topology = topology
        self._observe = observe
        self._scripts = scripts
        self._script = script
        self._timeout_s = timeout_s
        self._batch_max = batch_max
        self._wait = wait
        self._lanes: dict[Route, _Lane] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def call(self, keys: Sequence[str], args: Sequence[str]) -> asyncio.Future[list[Any]]:
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._enqueue(_Call(keys, args, future))
        return future

    def _enqueue(self, call: _Call) -> None:
        try:
            route = self._topology.route(call.keys[0])
        except Exception as exc:  # the slot map has a hole (failover) or is not known yet
            self._topology.lost()
            _fail([call], exc)
            return
        lane = self._lanes.get(route)
        if lane is None:  # not setdefault: that builds a lane on every call
            lane = self._lanes[route] = _Lane()
        lane.pending.append(call)
        if not lane.busy:
            lane.busy = True
            task = asyncio.get_running_loop().create_task(self._drain(route, lane))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self, route: Route, lane: _Lane) -> None:
        try:
            while lane.pending:
                batch = lane.pending[: self._batch_max]
                del lane.pending[: self._batch_max]
                await self._send(route, lane, batch)
        finally:
            lane.busy = False

    async def _send(self, route: Route, lane: _Lane, batch: list[_Call]) -> None:
        load, lane.load_scripts = lane.load_scripts, False
        loads = [("SCRIPT", "LOAD", s.source) for s in self._scripts.all()] if load else []
        sha = self._script.sha
        commands: list[Sequence[Any]] = [
            *loads, *[("EVALSHA", sha, len(c.keys), *c.keys, *c.args) for c in batch]]  # fmt: skip
        if self._wait is not None:
            commands.append(self._wait.command)
        started = perf_counter()
        try:
            async with asyncio.timeout(self._timeout_s):
                replies = await exchange(route, commands)
            for script, loaded in zip(self._scripts.all(), replies[: len(loads)], strict=False):
                check_sha(script, loaded)
        except Exception as exc:  # timeout, connection lost, a node that is gone
            self._topology.lost()
            _fail(batch, exc)
            return
        if self._observe is not None:
            self._observe(len(batch), perf_counter() - started)
        confirmed = self._wait is None or self._wait.confirmed(replies.pop())
        await self._settle(lane, batch, replies[len(loads) :], confirmed)

    async def _settle(self, lane: _Lane, batch: list[_Call], replies: list[Any],
                      confirmed: bool) -> None:  # fmt: skip
        moved: list[tuple[_Call, MovedError]] = []
        for call, reply in zip(batch, replies, strict=True):
            if isinstance(reply, MovedError) and not call.retried:
                call.retried = True
                moved.append((call, reply))
            elif isinstance(reply, NoScriptError) and not call.retried:
                call.retried = True
                lane.load_scripts = True
                lane.pending.insert(0, call)
            elif isinstance(reply, Exception):
                _fail([call], reply)
            elif not confirmed:
                _fail([call], StoreUnavailable("the replicas did not confirm the write in time"))
            elif not call.future.done():
                call.future.set_result(reply)
        for call, error in moved:
            await self._topology.moved(error)
            self._enqueue(call)


def _fail(calls: list[_Call], exc: BaseException) -> None:
    if not unavailable(exc) and not isinstance(exc, StoreUnavailable):
        # Still a 503 for the client (never a 500), but a reply nobody expected.
        log.warning("unexpected_redis_reply", error=repr(exc))
    error = exc if isinstance(exc, StoreUnavailable) else StoreUnavailable(
        f"Redis did not answer: {type(exc).__name__}: {exc}")  # fmt: skip
    for call in calls:
        if not call.future.done():
            call.future.set_exception(error)
