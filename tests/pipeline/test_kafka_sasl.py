"""Kafka with SASL: an Apache Kafka broker (the pinned jars of `couponrush kafka fetch`)
whose client listener takes only SCRAM-SHA-512 logins. The relay and the consumer log in
with COUPONRUSH_KAFKA_SASL_* and every win reaches the database through it; a wrong
password, another mechanism or no SASL at all is refused."""

from __future__ import annotations

import base64
import secrets
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from redis.asyncio import Redis

from couponrush.core.errors import BrokerUnavailable
from couponrush.pipeline import kafka
from couponrush.rush.burst import burst_users, run_burst
from couponrush.rush.oracle import check
from couponrush.settings import Settings
from couponrush.stack import kafka_dist
from couponrush.stack.procs import free_port, spawn, stop
from couponrush.stack.ready import port_open, wait_until
from tests.fixtures.app import AppServer
from tests.fixtures.pipeline import Pipeline
from tests.helpers import CLI, create_event, db_rows, redis_truth, wait_rows

pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="no Java (make install)")
LOG4J = Path(__file__).resolve().parents[2] / "deploy" / "stores" / "kafka" / "log4j2.properties"
USER = "couponrush"


@dataclass(frozen=True)
class SaslBroker:
    bootstrap: str
    password: str

    def settings(self, **changes: str) -> dict[str, str]:
        """The pipeline's Kafka settings for this broker, by field name."""
        return {
            "kafka_bootstrap": self.bootstrap,
            "kafka_security_protocol": "SASL_PLAINTEXT",
            "kafka_sasl_mechanism": "SCRAM-SHA-512",
            "kafka_sasl_username": USER,
            "kafka_sasl_password": self.password,
            **changes,
        }

    def env(self) -> dict[str, str]:
        return {f"COUPONRUSH_{k.upper()}": v for k, v in self.settings().items()}

    async def probe(self, timeout_s: float = 10, **changes: str) -> None:
        """Ask for the brokers' metadata with these settings (BrokerUnavailable if refused:
        librdkafka keeps trying until the timeout)."""
        security = kafka.security_conf(Settings.model_validate(self.settings(**changes)))
        conf = kafka.producer_conf(self.bootstrap, security=security)
        await kafka.KafkaPublisher(lambda: Producer(conf), "probe").probe(timeout_s)


def _properties(port: int, controller: int, data: Path, admin: str) -> str:
    jaas = (
        f"org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="admin" password="{admin}";'
    )
    return "".join(
        f"{line}\n"
        for line in (
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller}",
            f"listeners=SASL_PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
            f"advertised.listeners=SASL_PLAINTEXT://127.0.0.1:{port}",
            "listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=SASL_PLAINTEXT",
            "sasl.enabled.mechanisms=SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
            f"listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config={jaas}",
            f"log.dirs={data}",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            # As the stack's brokers: the pipeline makes its topic from its settings.
            "auto.create.topics.enable=false",
        )
    )


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaslBroker]:
    work = tmp_path_factory.mktemp("kafka-sasl")
    port, controller = free_port(), free_port()
    admin, password = secrets.token_hex(16), secrets.token_hex(16)
    conf = work / "server.properties"
    conf.write_text(_properties(port, controller, work / "data", admin))
    java = [
        "java",
        "-Xmx384m",
        f"-Dlog4j2.configurationFile={LOG4J}",
        "-cp",
        str(kafka_dist.fetch(quiet=True) / "*"),
    ]
    # SCRAM credentials are written into the metadata log when the storage is formatted.
    scram = [
        f"SCRAM-SHA-512=[name={n},password={p}]" for n, p in (("admin", admin), (USER, password))
    ]
    subprocess.run(
        [
            *java,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            _cluster_id(),
            "-c",
            str(conf),
            "--add-scram",
            scram[0],
            "--add-scram",
            scram[1],
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    proc = spawn([*java, "kafka.Kafka", str(conf)], work / "kafka.log")
    try:
        wait_until(lambda: port_open(port), "Kafka with SASL", 90)
        yield SaslBroker(f"127.0.0.1:{port}", password)
    finally:
        stop(proc, timeout_s=20)


def _cluster_id() -> str:
    """A cluster id as kafka-storage random-uuid makes it (base64 of 16 bytes), never
    starting with "-" (the tool would read it as an option)."""
    return "A" + base64.urlsafe_b64encode(uuid.uuid4().bytes).decode()[1:22]


async def test_relay_and_consumer_log_in_and_every_win_lands(
    sasl_broker: SaslBroker,
    db_app: AppServer,
    pipeline: Pipeline,
    db: Any,
    redis: Redis,
    event_id: str,
) -> None:
    env = pipeline.with_env(
        COUPONRUSH_QUEUE="kafka", COUPONRUSH_KAFKA_TOPIC=f"sasl-{event_id}", **sasl_broker.env()
    )
    procs = [
        spawn([*CLI, role], pipeline.logs / f"{role}.log", env) for role in ("relay", "consume")
    ]
    try:
        create_event(db_app, event_id, 40)
        answers = await run_burst(
            db_app.url, event_id, burst_users(120, 120), 16, show_progress=False
        )
        winners, stock = await redis_truth(redis, event_id)
        assert check(40, answers, winners, stock, expect_sold_out=True) == []
        await wait_rows(db, event_id, len(winners), timeout_s=60)
        assert {u: slot for u, (slot, _) in (await db_rows(db, event_id)).items()} == winners
        assert all(p.poll() is None for p in procs)
    finally:
        for proc in procs:
            stop(proc)


@pytest.mark.parametrize(
    "changes",
    [
        {"kafka_sasl_password": "wrong" * 6},
        {"kafka_sasl_mechanism": "SCRAM-SHA-256"},
        {"kafka_sasl_username": "mallory"},
        {"kafka_security_protocol": "PLAINTEXT"},
    ],
    ids=["wrong password", "other mechanism", "unknown user", "no SASL"],
)
async def test_a_client_without_the_right_login_is_refused(
    sasl_broker: SaslBroker, changes: dict[str, str]
) -> None:
    await sasl_broker.probe()  # the right login is let in
    with pytest.raises(BrokerUnavailable):
        await sasl_broker.probe(timeout_s=2, **changes)
