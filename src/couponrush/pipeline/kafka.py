"""Kafka: client settings, error translation, and the relay's publisher.

The producer is idempotent with acks=all, keyed by user id so that one user's messages
stay in one partition, in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from couponrush.core.errors import BrokerFatal, BrokerUnavailable, ConfigError
from couponrush.core.win import Win
from couponrush.settings import Settings

# librdkafka logs to stderr at this syslog level and above: warnings and worse.
_LOG_LEVEL = 4
_FLUSH_MARGIN_S = 5.0  # a flush outlasts the producer's message.timeout.ms by this much
# A fetch from a leader that went silent (a partition: its packets dropped, no error comes
# back) waits this long before the consumer asks the other brokers who leads now; with
# librdkafka's 60 s the partitions of a broker cut off for 30 s had no row for 56 s.
FETCH_SILENCE_MS = 5_000
SESSION_TIMEOUT_MS = 6_000  # the consumer's group session (Kafka's least poll interval)
# librdkafka's security.protocol, sasl.* and ssl.* settings (security_conf).
Security = Mapping[str, Any] | None


@contextmanager
def translated() -> Iterator[None]:
    """Kafka's errors as ours: a fatal one stops the process, any other is retried."""
    try:
        yield
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if isinstance(error, KafkaError) and error.fatal():
            raise BrokerFatal(f"kafka: {error}") from exc
        raise BrokerUnavailable(f"kafka: {error or exc}") from exc


def _logging() -> dict[str, Any]:
    """librdkafka's lines through the stdlib logger, so they come out as JSON too."""
    return {"log_level": _LOG_LEVEL, "logger": logging.getLogger("librdkafka")}


def security_conf(s: Settings) -> dict[str, Any]:
    """How the clients authenticate (SASL) and encrypt (TLS); nothing for PLAINTEXT."""
    if s.kafka_security_protocol == "PLAINTEXT":
        return {}
    conf: dict[str, Any] = {"security.protocol": s.kafka_security_protocol}
    if s.kafka_security_protocol.startswith("SASL"):
        if not (s.kafka_sasl_username and s.kafka_sasl_password.get_secret_value()):
            raise ConfigError(
                f"COUPONRUSH_KAFKA_SECURITY_PROTOCOL={s.kafka_security_protocol} "
                "needs COUPONRUSH_KAFKA_SASL_USERNAME and _PASSWORD"
            )
        conf |= {
            "sasl.mechanism": s.kafka_sasl_mechanism,
            "sasl.username": s.kafka_sasl_username,
            "sasl.password": s.kafka_sasl_password.get_secret_value(),
        }
    if s.kafka_ssl_ca_file is not None:
        conf["ssl.ca.location"] = str(s.kafka_ssl_ca_file)
    return conf


def admin_conf(bootstrap: str, security: Security = None) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap, **_logging(), **(security or {})}


def producer_conf(
    bootstrap: str, delivery_timeout_ms: int = 10_000, *, security: Security = None
) -> dict[str, Any]:
    """Idempotent and acks=all: a retry inside the producer never writes a duplicate, and a
    message counts as delivered once min.insync.replicas brokers hold it."""
    return {
        **admin_conf(bootstrap, security),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "message.timeout.ms": delivery_timeout_ms,
    }


def consumer_conf(
    bootstrap: str,
    group: str,
    max_poll_interval_ms: int = 300_000,
    session_timeout_ms: int = SESSION_TIMEOUT_MS,
    *,
    security: Security = None,
) -> dict[str, Any]:
    """Offsets are committed by hand, after the database commit, never automatically."""
    return {
        **admin_conf(bootstrap, security),
        "group.id": group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": session_timeout_ms,
        "max.poll.interval.ms": max_poll_interval_ms,
        "socket.timeout.ms": FETCH_SILENCE_MS,
    }


class KafkaPublisher:
    """A batch that fails is sent again whole by a new producer: after a message timed out
    in flight, an idempotent producer's sequence state can stay broken for good (measured:
    fenced on every later batch after a 30-s broker outage), and a fresh producer id is the
    one way out. What the old one did deliver comes again; the consumer's insert absorbs it."""

    def __init__(
        self, make: Callable[[], Producer], topic: str, delivery_timeout_ms: int = 10_000
    ) -> None:
        """``delivery_timeout_ms``: the producers' message.timeout.ms."""
        self._make = make
        self._producer = make()
        self._topic = topic
        self._flush_s = delivery_timeout_ms / 1000 + _FLUSH_MARGIN_S

    async def publish(self, wins: Sequence[Win]) -> None:
        """Produce the batch and wait for every delivery report; any failure -> retry all."""
        try:
            await self._publish(wins)
        except BrokerUnavailable:
            await self._renew()
            raise

    async def _publish(self, wins: Sequence[Win]) -> None:
        failed: list[KafkaError] = []

        def report(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                failed.append(err)

        with translated():
            for win in wins:
                await self._produce(win, report)
            left = await asyncio.to_thread(self._producer.flush, self._flush_s)
        if left or failed:
            reason = failed[0] if failed else f"{left} messages unconfirmed"
            raise BrokerUnavailable(f"kafka delivery failed: {reason}")

    async def _produce(self, win: Win, report: Any) -> None:
        while True:
            try:
                self._producer.produce(
                    self._topic, win.to_message(), win.user_id.encode(), on_delivery=report
                )
                return
            except BufferError:  # the local queue is full: let deliveries drain first
                await asyncio.to_thread(self._producer.poll, 0.1)

    async def _renew(self) -> None:
        old, self._producer = self._producer, self._make()
        await asyncio.to_thread(_discard, old)

    async def probe(self, timeout_s: float = 5) -> None:
        """The topic's metadata from the brokers: raises while Kafka cannot be reached."""
        with translated():
            await asyncio.to_thread(self._producer.list_topics, self._topic, timeout_s)

    async def close(self, timeout_s: float = 10) -> None:
        await asyncio.to_thread(self._producer.flush, timeout_s)


def _discard(producer: Producer) -> None:
    """Drop what it still holds (it is sent again); it is destroyed in this thread."""
    producer.purge()
    producer.poll(0)
