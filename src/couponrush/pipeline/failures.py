"""Retryable, permanent or a bug: one decision over exception types.

Kafka's errors never get here raw: the Kafka adapters translate them at the edge
(pipeline.kafka.translated), so a stream-mode install needs no Kafka client."""

from __future__ import annotations

from typing import Literal

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from couponrush.core.errors import PermanentError, RetryableError
from couponrush.store import client

Verdict = Literal["retry", "permanent", "bug"]
# The server is away, restarting, overloaded, or the statement lost a race.
_TRANSIENT = (
    OSError, TimeoutError, RedisConnectionError, RedisTimeoutError, asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError,
    asyncpg.InsufficientResourcesError, asyncpg.TransactionRollbackError,
    asyncpg.QueryCanceledError,
)  # fmt: skip


def classify(exc: BaseException) -> Verdict:
    """``retry``: may succeed later; ``permanent``: the message is at fault (dead-letter it);
    ``bug``: neither is known, so the process stops with its batch unacknowledged rather
    than dead-lettering good messages or spinning on a mistake."""
    if isinstance(exc, PermanentError | asyncpg.IntegrityConstraintViolationError):
        return "permanent"
    if isinstance(exc, asyncpg.DataError):
        return "permanent"
    if isinstance(exc, RetryableError):
        return "retry"
    return "retry" if isinstance(exc, _TRANSIENT) or client.unavailable(exc) else "bug"


def is_retryable(exc: BaseException) -> bool:
    return classify(exc) == "retry"
