"""Retryable, permanent or a bug: the one decision over exception types."""

from __future__ import annotations

import asyncpg
import pytest
from confluent_kafka import KafkaError, KafkaException
from redis.exceptions import ResponseError

from couponrush.core.errors import BadMessage, EventNotFound, RetryableError
from couponrush.pipeline.failures import classify
from couponrush.pipeline.kafka import translated


def _through_kafka_edge(exc: KafkaException) -> BaseException:
    """What the Kafka adapters raise for ``exc``."""
    try:
        with translated():
            raise exc
    except Exception as translated_exc:
        return translated_exc
    raise AssertionError("translated() swallowed the error")


@pytest.mark.parametrize(
    ("exc", "verdict"),
    [
        (ConnectionRefusedError(), "retry"),
        (TimeoutError(), "retry"),
        (asyncpg.CannotConnectNowError(), "retry"),
        (asyncpg.AdminShutdownError(), "retry"),
        (RetryableError(), "retry"),
        (_through_kafka_edge(KafkaException(KafkaError(KafkaError._TRANSPORT))), "retry"),
        (BadMessage(), "permanent"),
        (EventNotFound(), "permanent"),
        (asyncpg.UniqueViolationError(), "permanent"),
        (asyncpg.DataError(), "permanent"),
        (_through_kafka_edge(KafkaException(KafkaError(KafkaError._FATAL, fatal=True))), "bug"),
        (TypeError(), "bug"),
    ],
)
def test_failures_are_classified(exc: BaseException, verdict: str) -> None:
    assert classify(exc) == verdict


def _in_pipeline(reply: str) -> ResponseError:
    """A reply as redis-py's cluster pipeline raises it, its command in front."""
    return ResponseError(
        f"Command # 1 (XACK coupon:{{e}}:outbox g 1-0) of pipeline caused error: ('{reply}',)"
    )


@pytest.mark.parametrize(
    ("exc", "verdict"),
    [
        (ResponseError("NOREPLICAS Not enough good replicas to write."), "retry"),
        (_in_pipeline("NOREPLICAS Not enough good replicas to write."), "retry"),
        (_in_pipeline("READONLY You can't write against a read only replica."), "retry"),
        (ResponseError("Command # 2 (EVALSHA x) of pipeline caused error: LOADING data"), "retry"),
        (ResponseError("ERR wrong number of arguments"), "bug"),
        (_in_pipeline("ERR unknown command"), "bug"),
    ],
)
def test_a_failover_reply_is_retryable_also_inside_a_pipeline(
    exc: BaseException, verdict: str
) -> None:
    # Seen in a cluster failover: the consumer stopped on an XACK's NOREPLICAS.
    assert classify(exc) == verdict
