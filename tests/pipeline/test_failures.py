"""Retryable, permanent or a bug: the one decision over exception types."""

from __future__ import annotations

import asyncpg
import pytest
from confluent_kafka import KafkaError, KafkaException

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
    [(ConnectionRefusedError(), "retry"), (TimeoutError(), "retry"),
     (asyncpg.CannotConnectNowError(), "retry"), (asyncpg.AdminShutdownError(), "retry"),
     (RetryableError(), "retry"),
     (_through_kafka_edge(KafkaException(KafkaError(KafkaError._TRANSPORT))), "retry"),
     (BadMessage(), "permanent"), (EventNotFound(), "permanent"),
     (asyncpg.UniqueViolationError(), "permanent"), (asyncpg.DataError(), "permanent"),
     (_through_kafka_edge(KafkaException(KafkaError(KafkaError._FATAL, fatal=True))), "bug"),
     (TypeError(), "bug")],
)  # fmt: skip
def test_failures_are_classified(exc: BaseException, verdict: str) -> None:
    assert classify(exc) == verdict
