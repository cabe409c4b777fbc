"""The batcher's bookkeeping: a group of calls of one event (one issue.lua run, one
future, one deadline), the lane of groups bound for one primary, and how a group is
resolved or failed: a group's future is set once, whatever answers it first."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import structlog
from redis.asyncio.connection import AbstractConnection

from couponrush.core.errors import StoreUnavailable
from couponrush.store.client import unavailable

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Group:
    """The calls of one event in one batch: one EVALSHA, one future, one deadline."""

    event_id: str
    keys: list[str]
    args: list[str]
    future: asyncio.Future[list[Any]]
    deadline: asyncio.TimerHandle | None = None
    size: int = 0
    retried: bool = False


@dataclass(slots=True)
class Lane:
    """The groups bound for one primary; ``open`` are those still taking calls. A lane
    sends one pipeline at a time, so it holds one connection of the route's pool for good
    (taking one from the pool and giving it back costs more than the rest of a small
    batch); a connection that failed is disconnected and given back, and the next batch
    takes a new one."""

    pending: list[Group] = field(default_factory=list)
    open: dict[str, Group] = field(default_factory=dict)
    busy: bool = False
    load_scripts: bool = False
    conn: AbstractConnection | None = None


def resolve(group: Group, reply: list[Any]) -> None:
    if group.deadline is not None:
        group.deadline.cancel()
    if not group.future.done():
        group.future.set_result(reply)


def expire(group: Group) -> None:
    if not group.future.done():
        group.future.set_exception(StoreUnavailable("Redis did not answer in time"))


def unavailable_error(exc: BaseException) -> StoreUnavailable:
    if isinstance(exc, StoreUnavailable):
        return exc
    if not unavailable(exc):
        # Still a 503 for the client (never a 500), but a failure nobody expected.
        log.warning("unexpected_redis_reply", error=repr(exc))
    return StoreUnavailable(f"Redis did not answer: {type(exc).__name__}: {exc}")


def fail(groups: list[Group], exc: BaseException) -> None:
    error: StoreUnavailable | None = None
    for group in groups:
        if group.deadline is not None:
            group.deadline.cancel()
        if not group.future.done():
            error = error or unavailable_error(exc)
            group.future.set_exception(error)
