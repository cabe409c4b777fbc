"""The consumer group's lag on the wins topic, per partition: the log end offset minus the
offset the group committed (after the database commit, so the lag counts wins that have
no row yet). Read with an admin client beside the consumer, so it keeps growing while
the consumer is stuck; every consumer replica reports the same figures."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from couponrush.pipeline.kafka import Security, admin_conf, translated
from couponrush.pipeline.metrics import PartitionLag, PipelineMetrics

_TIMEOUT_S = 5.0


class GroupLag:
    def __init__(
        self,
        bootstrap: str,
        group: str,
        topic: str,
        metrics: PipelineMetrics,
        security: Security = None,
    ) -> None:
        self._admin = AdminClient(admin_conf(bootstrap, security))
        # The committed offsets come through a consumer of the group that never joins it (it
        # only asks): the admin client's ListConsumerGroupOffsets crashes librdkafka 2.16
        # (a null group handle) when it is answered "not coordinator".
        self._reader = Consumer(
            {**admin_conf(bootstrap, security), "group.id": group, "enable.auto.commit": False}
        )
        self._topic, self._metrics = topic, metrics

    async def sample(self) -> None:
        with translated():
            found = await asyncio.to_thread(self.read)
        self._metrics.kafka.show(self._topic, found)

    def read(self) -> list[PartitionLag]:
        meta = self._admin.list_topics(self._topic, timeout=_TIMEOUT_S).topics[self._topic]
        parts = [TopicPartition(self._topic, p) for p in sorted(meta.partitions)]
        # (untyped in confluent-kafka's sources)
        ends = self._offsets(parts, OffsetSpec.latest())  # type: ignore[no-untyped-call]
        starts = self._offsets(parts, OffsetSpec.earliest())  # type: ignore[no-untyped-call]
        found = self._reader.committed(parts, timeout=_TIMEOUT_S)
        committed = {tp.partition: tp.offset for tp in found}
        for client in (self._admin, self._reader):
            client.poll(0)  # passes on the lines they logged meanwhile
        return [
            PartitionLag(p, ends[p], committed[p] if committed.get(p, -1) >= 0 else starts[p])
            for p in sorted(ends)
        ]

    def _offsets(self, parts: Sequence[TopicPartition], spec: OffsetSpec) -> dict[int, int]:
        futures = self._admin.list_offsets({tp: spec for tp in parts}, request_timeout=_TIMEOUT_S)
        return {tp.partition: f.result(_TIMEOUT_S).offset for tp, f in futures.items()}
