"""The relay against in-memory fakes: delivered before acknowledged, retried while down."""

from __future__ import annotations

from couponrush.pipeline.loop import BatchLoop, RetryBudget
from couponrush.pipeline.metrics import PipelineMetrics
from couponrush.pipeline.relay import Relay
from tests.fakes import FakeDeadLetters, FakePublisher, FakeSource, delivery


def relay(source: FakeSource, publisher: FakePublisher, letters: FakeDeadLetters) -> Relay:
    loop = BatchLoop(source, letters, PipelineMetrics(), RetryBudget(5.0, 0.01), "relay")
    return Relay(loop, publisher)


async def test_wins_are_published_then_acknowledged_and_poison_is_set_aside() -> None:
    source = FakeSource([[delivery("e1", "u1", 1), delivery("e1", "bad user", 2)]])
    publisher = FakePublisher(journal=source.journal)
    letters = FakeDeadLetters()
    assert await relay(source, publisher, letters).step() == 2
    assert [w.user_id for w in publisher.published] == ["u1"]
    assert [(d.kind, d.source) for d in letters.letters] == [("parse", "relay")]
    assert source.journal == ["fetch", "publish", "ack"]


async def test_a_broker_outage_holds_the_batch_until_it_is_delivered() -> None:
    source = FakeSource([[delivery("e1", "u1", 1)]])
    publisher = FakePublisher(journal=source.journal, outages=2)
    await relay(source, publisher, FakeDeadLetters()).step()
    assert source.journal == ["fetch", "publish failed", "publish failed", "publish", "ack"]
    assert len(publisher.published) == 1


async def test_nothing_fetched_means_nothing_acknowledged() -> None:
    source = FakeSource([])
    assert await relay(source, FakePublisher(), FakeDeadLetters()).step() == 0
    assert source.journal == ["fetch"]
