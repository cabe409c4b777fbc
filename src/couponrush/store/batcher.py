"""Sends the issue calls of one event-loop tick to Redis: one issue.lua run per event, one
pipeline per primary.

A request joins the group of its event in the lane of the primary that owns the event (one
lane in standalone and Sentinel modes, one per shard in Cluster mode) and gets the group's
future and its place in it: one future per group, not per request, and the group's reply
(one per user) is sliced by place. Each lane sends everything pending as one pipeline, and
whatever arrives while that pipeline is in flight goes out in the next one. Under load,
groups grow by themselves; when idle a call goes out on the next tick. Lanes run side by
side, so a shard that fails over delays its own events only.

Every group has a deadline (the timeout after its first call): whatever happens to the
pipeline, and whatever fails while its replies are settled, its future is resolved by then,
with StoreUnavailable at the latest. So a request never waits past REDIS_TIMEOUT_MS.

With replicas, each pipeline ends with a barrier write and one WAIT (store.nodes.ReplicaWait):
its answers are released only once enough replicas hold everything the pipeline read or
wrote, else every group of it gets 503 (a win stays, so the retry answers already_issued).
A MOVED reply patches the slot map and a NOSCRIPT reply loads the scripts on that node; as
the script did not run, the group is tried once more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from functools import lru_cache
from time import perf_counter
from typing import Any

from redis.exceptions import MovedError, NoScriptError

from couponrush.core.errors import StoreUnavailable
from couponrush.store.groups import Group, Lane, expire, fail, resolve, unavailable_error
from couponrush.store.keys import EventKeys, bucket_key, event_keys
from couponrush.store.nodes import ReplicaWait, Route, Topology, exchange_on
from couponrush.store.scripts import LuaScript, Scripts, check_sha

# Told of every batch Redis answered: its size (calls) and its round trip in seconds.
BatchObserver = Callable[[int, float], None]
# A group's future and the caller's place in its reply.
Ticket = tuple["asyncio.Future[list[Any]]", int]


# An event's key names, built once per event rather than once per call.
_keys_of: Callable[[str], EventKeys] = lru_cache(maxsize=4096)(event_keys)


class IssueBatcher:
    def __init__(
        self,
        topology: Topology,
        scripts: Scripts,
        timeout_s: float,
        batch_max: int,
        user_rate_per_s: float = 0.0,
        user_burst: int = 1,
        wait: ReplicaWait | None = None,
        observe: BatchObserver | None = None,
    ) -> None:
        self._topology = topology
        self._observe = observe
        self._scripts = scripts
        self._script: LuaScript = scripts.issue
        self._timeout_s = timeout_s
        self._batch_max = batch_max
        self._wait = wait
        # issue.lua's rate, burst and mode: every outcome answered (the gateway's lane asks
        # for wins only, lua/couponrush/lane.lua)
        self._bucket_args = [repr(float(user_rate_per_s)), str(user_burst), "all"]
        self._buckets = user_rate_per_s > 0
        self._lanes: dict[Route, Lane] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def call(self, event_id: str, user_id: str, request_id: str) -> Ticket:
        """The future of the group this call joined, and the call's place in its reply."""
        loop = asyncio.get_running_loop()
        try:
            route = self._topology.route(_keys_of(event_id).stock)
        except Exception as exc:  # the slot map has a hole (failover) or is not known yet
            self._topology.lost()
            future: asyncio.Future[list[Any]] = loop.create_future()
            future.set_exception(unavailable_error(exc))
            return future, 0
        lane = self._lanes.get(route)
        if lane is None:  # not setdefault: that builds a lane on every call
            lane = self._lanes[route] = Lane()
        group = lane.open.get(event_id)
        if group is None or group.size >= self._batch_max:
            group = lane.open[event_id] = self._group(loop, event_id)
            lane.pending.append(group)
        group.args += (user_id, request_id)
        if self._buckets:
            group.keys.append(bucket_key(event_id, user_id))
        group.size += 1
        if not lane.busy:
            self._start(loop, route, lane)
        return group.future, group.size - 1

    def _group(self, loop: asyncio.AbstractEventLoop, event_id: str) -> Group:
        group = Group(
            event_id,
            [*_keys_of(event_id).issue_keys],
            [*self._bucket_args],
            loop.create_future(),
        )
        group.deadline = loop.call_later(self._timeout_s, expire, group)
        return group

    def _start(self, loop: asyncio.AbstractEventLoop, route: Route, lane: Lane) -> None:
        lane.busy = True
        task = loop.create_task(self._drain(route, lane))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, route: Route, lane: Lane) -> None:
        try:
            while lane.pending:
                batch = self._take(lane)
                if not batch:
                    continue
                try:
                    await self._send(route, lane, batch)
                except BaseException as exc:  # a bug, or the task cancelled: answer anyway
                    fail(batch, exc)
                    if not isinstance(exc, Exception):
                        raise
        finally:
            lane.busy = False
            lane.open.clear()
            fail(lane.pending, StoreUnavailable("the batcher stopped"))
            lane.pending.clear()

    def _take(self, lane: Lane) -> list[Group]:
        """The next batch: whole groups, about batch_max calls at most."""
        batch: list[Group] = []
        calls = 0
        while lane.pending and (not batch or calls + lane.pending[0].size <= self._batch_max):
            group = lane.pending.pop(0)
            if lane.open.get(group.event_id) is group:
                del lane.open[group.event_id]  # later calls start a new group
            if not group.future.done():  # past its deadline: its callers have their 503
                batch.append(group)
                calls += group.size
        return batch

    async def _send(self, route: Route, lane: Lane, batch: list[Group]) -> None:
        load, lane.load_scripts = lane.load_scripts, False
        loads = [("SCRIPT", "LOAD", s.source) for s in self._scripts.all()] if load else []
        sha = self._script.sha
        commands: list[Sequence[Any]] = [
            *loads,
            *[("EVALSHA", sha, len(g.keys), *g.keys, *g.args) for g in batch],
        ]
        if self._wait is not None:
            commands += self._wait.commands(_keys_of(batch[0].event_id).barrier)
        started = perf_counter()
        try:
            async with asyncio.timeout(self._timeout_s):
                replies = await self._exchange(route, lane, commands)
            for script, loaded in zip(self._scripts.all(), replies[: len(loads)], strict=False):
                check_sha(script, loaded)
        except Exception as exc:  # timeout, connection lost, a node that is gone
            self._topology.lost()
            fail(batch, exc)
            return
        if self._observe is not None:
            self._observe(sum(g.size for g in batch), perf_counter() - started)
        confirmed = self._wait is None or self._wait.confirms(replies)
        await self._settle(lane, batch, replies[len(loads) : len(loads) + len(batch)], confirmed)

    async def _exchange(self, route: Route, lane: Lane, commands: list[Sequence[Any]]) -> list[Any]:
        conn = lane.conn
        if conn is None:
            conn = lane.conn = await route.acquire()
        try:
            return await exchange_on(conn, commands)
        except BaseException:
            lane.conn = None  # disconnected by exchange_on; the pool makes a new one
            await route.release(conn)
            raise

    async def _settle(
        self, lane: Lane, batch: list[Group], replies: list[Any], confirmed: bool
    ) -> None:
        moved: list[tuple[Group, MovedError]] = []
        for group, reply in zip(batch, replies, strict=True):
            if isinstance(reply, MovedError) and not group.retried:
                group.retried = True
                moved.append((group, reply))
            elif isinstance(reply, NoScriptError) and not group.retried:
                group.retried = True
                lane.load_scripts = True
                lane.pending.insert(0, group)
            elif isinstance(reply, Exception):
                fail([group], reply)
            elif not confirmed:
                fail([group], StoreUnavailable("the replicas did not confirm in time"))
            elif not isinstance(reply, list) or len(reply) != group.size:
                fail([group], ValueError(f"issue.lua answered {group.size} calls with {reply!r}"))
            else:
                resolve(group, reply)
        for group, error in moved:
            try:
                await self._topology.moved(error)
                self._requeue(group)
            except Exception as exc:  # the slot map could not be patched: 503, not a hang
                fail([group], exc)

    def _requeue(self, group: Group) -> None:
        """A group that went to the wrong primary, to the lane of the right one."""
        route = self._topology.route(_keys_of(group.event_id).stock)
        lane = self._lanes.get(route)
        if lane is None:
            lane = self._lanes[route] = Lane()
        lane.pending.append(group)
        if not lane.busy:
            self._start(asyncio.get_running_loop(), route, lane)
