"""The consumer against in-memory fakes: what it writes, dead-letters and acknowledges."""

from __future__ import annotations

from couponrush.core.codes import CodeSigner
from couponrush.core.errors import DatabaseUnavailable
from couponrush.pipeline.consumer import Consumer
from couponrush.pipeline.loop import BatchLoop, RetryBudget
from couponrush.pipeline.metrics import PipelineMetrics
from tests.fakes import FakeCatalog, FakeDeadLetters, FakeRepository, FakeSource, delivery

SIGNER = CodeSigner(b"k" * 32)


def consumer(
    source: FakeSource,
    repo: FakeRepository,
    letters: FakeDeadLetters,
    catalog: FakeCatalog | None = None,
) -> Consumer:
    loop = BatchLoop(source, letters, PipelineMetrics(), RetryBudget(5.0, 0.01), "stream")
    return Consumer(loop, repo, catalog or FakeCatalog(), SIGNER)


async def test_a_batch_is_written_once_then_acknowledged() -> None:
    source = FakeSource([[delivery("e1", "u1", 1), delivery("e1", "u2", 2)]])
    repo = FakeRepository(journal=source.journal, events={"e1"})
    assert await consumer(source, repo, FakeDeadLetters()).step() == 2
    assert repo.rows == {("e1", "u1"): 1, ("e1", "u2"): 2}
    assert source.journal == ["fetch", "write", "ack"]
    assert len(source.acked) == 2


async def test_a_poison_entry_and_a_slot_conflict_go_to_dead_letters() -> None:
    poison = delivery("e1", "u9", "nine")
    taken = delivery("e1", "u3", 1)  # slot 1 is held by u1 already
    source = FakeSource([[poison, delivery("e1", "u2", 2), taken]])
    repo = FakeRepository(rows={("e1", "u1"): 1}, events={"e1"})
    letters = FakeDeadLetters()
    assert await consumer(source, repo, letters).step() == 3
    assert [(d.kind, d.payload["user_id"]) for d in letters.letters] == [
        ("parse", "u9"),
        ("conflict", "u3"),
    ]
    assert "held by user 'u1'" in letters.letters[1].reason
    assert repo.rows == {("e1", "u1"): 1, ("e1", "u2"): 2}
    assert len(source.acked) == 3  # set aside, never silently dropped, never blocking


async def test_a_redelivery_is_absorbed_without_a_dead_letter() -> None:
    source = FakeSource([[delivery("e1", "u1", 1)]])
    repo = FakeRepository(rows={("e1", "u1"): 1}, events={"e1"})
    letters = FakeDeadLetters()
    await consumer(source, repo, letters).step()
    assert letters.letters == []
    assert len(source.acked) == 1


async def test_a_transient_failure_is_retried_then_succeeds_before_the_ack() -> None:
    source = FakeSource([[delivery("e1", "u1", 1)]])
    outage: list[Exception] = [DatabaseUnavailable("down"), DatabaseUnavailable("down")]
    repo = FakeRepository(journal=source.journal, events={"e1"}, failures=outage)
    worker = consumer(source, repo, FakeDeadLetters())
    await worker.step()
    assert source.journal == ["fetch", "write failed", "write failed", "write", "ack"]
    assert repo.rows == {("e1", "u1"): 1}
    retries = worker.loop.metrics.retries.labels("write")._value.get()
    assert retries == 2


async def test_an_event_only_redis_knows_gets_its_row_and_an_unknown_one_a_dead_letter() -> None:
    source = FakeSource([[delivery("fresh", "u1", 1), delivery("ghost", "u2", 1)]])
    repo = FakeRepository()
    letters = FakeDeadLetters()
    await consumer(source, repo, letters, FakeCatalog({"fresh"})).step()
    assert repo.events == {"fresh"}
    assert repo.rows == {("fresh", "u1"): 1}
    assert [d.kind for d in letters.letters] == ["unknown_event"]
