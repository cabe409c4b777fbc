"""Sends the issue calls of one event-loop tick to Redis as one pipeline.

A request appends its call and awaits a future; one drain task per worker sends
everything pending as a single pipeline, and whatever arrives while that pipeline is in
flight goes out in the next one. Under load, batches grow by themselves; when idle a
call goes out on the next tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from time import perf_counter
from typing import Any

from hiredis import pack_command
from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError, ResponseError

from couponrush.core.errors import StoreUnavailable
from couponrush.store.scripts import LuaScript, Scripts, register

_Call = tuple[Sequence[str], Sequence[str], "asyncio.Future[list[Any]]"]
# Told of every batch Redis answered: its size and its round trip in seconds.
BatchObserver = Callable[[int, float], None]


class ScriptBatcher:
    def __init__(
        self, redis: Redis, scripts: Scripts, script: LuaScript, timeout_s: float, batch_max: int,
        observe: BatchObserver | None = None,
    ) -> None:  # fmt: skip
        self._redis = redis
        self._observe = observe
        self._scripts = scripts
        self._script = script
        self._timeout_s = timeout_s
        self._batch_max = batch_max
        self._pending: list[_Call] = []
        self._draining = False
        self._task: asyncio.Task[None] | None = None

    def call(self, keys: Sequence[str], args: Sequence[str]) -> asyncio.Future[list[Any]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        self._pending.append((keys, args, future))
        if not self._draining:
            self._draining = True
            self._task = loop.create_task(self._drain())
        return future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._batch_max]
                del self._pending[: self._batch_max]
                await self._send(batch)
        finally:
            self._draining = False

    async def _send(self, batch: list[_Call]) -> None:
        started = perf_counter()
        try:
            async with asyncio.timeout(self._timeout_s):
                replies = await self._execute(batch)
                if any(isinstance(r, NoScriptError) for r in replies):
                    # Redis restarted or SCRIPT FLUSH: the scripts did not run; load and redo.
                    await register(self._redis, self._scripts)
                    replies = await self._execute(batch)
        except (TimeoutError, RedisError, OSError) as exc:
            error = StoreUnavailable(f"Redis did not answer: {type(exc).__name__}")
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        if self._observe is not None:
            self._observe(len(batch), perf_counter() - started)
        for (_, _, future), reply in zip(batch, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(StoreUnavailable(f"Redis script error: {reply}"))
            else:
                future.set_result(reply)

    async def _execute(self, batch: list[_Call]) -> list[Any]:
        """Write the whole batch in one send and read its replies on one connection.

        hiredis packs the commands (redis-py's asyncio connection packs in Python, which
        costs more than the rest of the request); redis-py parses the replies.
        """
        sha = self._script.sha
        commands: list[Any] = [("EVALSHA", sha, len(k), *k, *a) for k, a, _ in batch]
        payload = b"".join([pack_command(c) for c in commands])
        pool = self._redis.connection_pool
        conn = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await conn.send_packed_command(payload, check_health=False)
            replies: list[Any] = []
            for _ in batch:
                try:
                    replies.append(await conn.read_response())
                except ResponseError as exc:
                    replies.append(exc)
            return replies
        except BaseException:
            # A half-read connection must never serve another batch.
            await conn.disconnect()
            raise
        finally:
            await pool.release(conn)
