"""The wins topic as the settings describe it: created when it is missing, and refused with
a clear error when the brokers hold one that disagrees (a topic of one copy, made by hand
or by a broker's defaults, would lose wins with the broker that holds them)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from couponrush.core.errors import BrokerUnavailable, ConfigError
from couponrush.pipeline.kafka import Security, admin_conf, translated
from couponrush.settings import Settings

_TIMEOUT_S = 10.0
_MIN_INSYNC = "min.insync.replicas"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    min_insync_replicas: int

    @classmethod
    def of(cls, s: Settings) -> TopicSpec:
        return cls(
            s.kafka_topic,
            s.kafka_partitions,
            s.kafka_replication_factor,
            s.kafka_min_insync_replicas,
        )

    def new_topic(self) -> NewTopic:
        return NewTopic(
            self.name,
            num_partitions=self.partitions,
            replication_factor=self.replication_factor,
            config={_MIN_INSYNC: str(self.min_insync_replicas)},
        )


async def ensure_topic(bootstrap: str, spec: TopicSpec, security: Security = None) -> None:
    """Create the topic, or check the one there; ConfigError when it disagrees or cannot
    be made as wanted (fewer brokers than copies), BrokerUnavailable while Kafka is away."""
    with translated():
        await asyncio.to_thread(_ensure, AdminClient(admin_conf(bootstrap, security)), spec)


def _ensure(admin: AdminClient, spec: TopicSpec) -> None:
    topic = admin.list_topics(spec.name, timeout=_TIMEOUT_S).topics.get(spec.name)
    unknown = topic is None or (
        topic.error is not None and topic.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    )
    if unknown and _create(admin, spec):
        return
    found = _describe(admin, spec.name)
    if found != spec:
        raise ConfigError(_disagreement(found, spec))


def _create(admin: AdminClient, spec: TopicSpec) -> bool:
    """True when this call made it; False when another process was first."""
    try:
        admin.create_topics([spec.new_topic()])[spec.name].result(_TIMEOUT_S)
        return True
    except KafkaException as exc:
        error = exc.args[0]
        if error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return False
        if error.code() in (
            KafkaError.INVALID_REPLICATION_FACTOR,
            KafkaError.INVALID_CONFIG,
            KafkaError.POLICY_VIOLATION,
            KafkaError.INVALID_PARTITIONS,
        ):
            raise ConfigError(
                f"Kafka refused to create topic {spec.name} with {_shape(spec)}: {error.str()}"
            ) from exc
        raise


def _describe(admin: AdminClient, name: str) -> TopicSpec:
    """The topic as the brokers hold it; BrokerUnavailable while it is still being made
    (another process created it a moment ago: no partitions, or some without a leader)."""
    topic = admin.list_topics(name, timeout=_TIMEOUT_S).topics[name]
    partitions = topic.partitions
    unsettled = [p for p in partitions.values() if p.error is not None or p.leader < 0]
    if topic.error is not None or not partitions or unsettled:
        raise BrokerUnavailable(f"kafka: topic {name} is not settled yet: {topic.error}")
    copies = {len(p.replicas) for p in partitions.values()}
    resource = ConfigResource(ResourceType.TOPIC, name)
    configs = admin.describe_configs([resource])[resource].result(_TIMEOUT_S)
    return TopicSpec(
        name,
        len(partitions),
        max(copies) if len(copies) == 1 else -1,
        int(configs[_MIN_INSYNC].value),
    )


def _shape(spec: TopicSpec) -> str:
    factor = "uneven" if spec.replication_factor < 0 else str(spec.replication_factor)
    return (
        f"{spec.partitions} partitions, replication factor {factor}, "
        f"min.insync.replicas {spec.min_insync_replicas}"
    )


def _disagreement(found: TopicSpec, wanted: TopicSpec) -> str:
    return (
        f"Kafka topic {wanted.name} has {_shape(found)}; the settings want {_shape(wanted)} "
        "(COUPONRUSH_KAFKA_PARTITIONS, COUPONRUSH_KAFKA_REPLICATION_FACTOR, "
        "COUPONRUSH_KAFKA_MIN_INSYNC_REPLICAS). Change the topic or the settings; the "
        "pipeline does not write wins to a topic other than the one described."
    )
