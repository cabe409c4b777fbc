"""The Redis adapters in Sentinel and Cluster modes: one client per mode from the settings,
scripts on every node, the batcher's lanes and WAIT, events, outbox streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest
import pytest_asyncio
from redis.asyncio.cluster import RedisCluster

from couponrush.core.errors import StoreUnavailable
from couponrush.core.event import Event
from couponrush.core.letters import Letter
from couponrush.stack import redis_nodes
from couponrush.store.batcher import IssueBatcher
from couponrush.store.client import RedisClient
from couponrush.store.dead_letters import DeadLetters
from couponrush.store.events import EventStore
from couponrush.store.frozen import FrozenStore
from couponrush.store.keys import event_keys
from couponrush.store.nodes import ReplicaWait, Topology
from couponrush.store.outbox import StreamSource
from couponrush.store.scripts import Scripts, register_everywhere
from tests.fixtures.redis_ha import RedisNodes
from tests.helpers import issue_via, poll

MODES = ["cluster", "sentinel"]


@pytest.fixture(params=MODES)
def nodes(request: pytest.FixtureRequest) -> RedisNodes:
    found: RedisNodes = request.getfixturevalue(f"redis_{request.param}")
    return found


@pytest_asyncio.fixture(loop_scope="session")
async def ha(nodes: RedisNodes) -> AsyncIterator[RedisClient]:
    found = nodes.connect()
    await register_everywhere(Topology(found), Scripts.from_package())
    yield found
    await found.aclose()


def _event(event_id: str, total: int) -> Event:
    return Event(event_id, event_id, total, None, None)


async def test_scripts_are_on_every_node_replicas_included(
    ha: RedisClient, nodes: RedisNodes
) -> None:
    scripts = Scripts.from_package()
    for port in nodes.data_ports:
        found = redis_nodes.ask(port, "SCRIPT", "EXISTS", *[s.sha for s in scripts.all()])
        assert found == [1] * len(scripts.all()), (port, redis_nodes.describe(port))


async def test_wins_across_shards_confirmed_by_replicas(ha: RedisClient, event_id: str) -> None:
    scripts = Scripts.from_package()
    store = EventStore(ha, scripts)
    events = [f"{event_id}-{i}" for i in range(6)]  # several slots, so several primaries
    for e in events:
        assert await store.create(_event(e, 10))
    batcher = IssueBatcher(Topology(ha), scripts, 2.0, 64, wait=ReplicaWait(1, 500))
    calls = [issue_via(batcher, e, f"u{i}") for e in events for i in range(12)]
    replies = await asyncio.gather(*calls)
    assert [r[0] for r in replies].count("ISSUED") == 60
    for e in events:
        view = await store.get(e)
        assert view is not None
        assert (view.issued, view.remaining, view.status) == (10, 0, "sold_out")
        winners, stock = await store.winners(e)
        assert sorted(slot for slot, _ in winners.values()) == list(range(1, 11))
        assert stock == 0


@contextmanager
def replicas_paused(nodes: RedisNodes, event_id: str) -> Iterator[None]:
    """The replicas of the event's primary stop applying what they receive, and so do not
    confirm it, until the block ends."""
    primary = nodes.primary_of(event_keys(event_id).stock)
    replicas = [
        p for p in nodes.data_ports if p != primary and redis_nodes.describe(p)["role"] == "replica"
    ]
    for port in replicas:
        redis_nodes.ask(port, "CLIENT", "PAUSE", 5000, "WRITE")
    try:
        yield
    finally:
        for port in replicas:
            redis_nodes.ask(port, "CLIENT", "UNPAUSE")


async def test_an_unconfirmed_win_is_503_and_the_retry_gets_it_back(
    ha: RedisClient, nodes: RedisNodes, event_id: str
) -> None:
    scripts = Scripts.from_package()
    await EventStore(ha, scripts).create(_event(event_id, 5))
    batcher = IssueBatcher(Topology(ha), scripts, 2.0, 64, wait=ReplicaWait(1, 100))
    with replicas_paused(nodes, event_id), pytest.raises(StoreUnavailable, match="confirm"):
        await issue_via(batcher, event_id, "u1")
    reply = await issue_via(batcher, event_id, "u1")
    assert reply[:2] == ["DUPLICATE", 1]


async def test_already_issued_waits_for_a_win_another_connection_wrote(
    ha: RedisClient, nodes: RedisNodes, event_id: str
) -> None:
    """The win is on the primary only; the retry's pipeline writes nothing of its own, and
    a WAIT on its connection alone would confirm at once. The barrier write makes the
    WAIT cover the win: no already_issued until a replica holds it."""
    scripts = Scripts.from_package()
    await EventStore(ha, scripts).create(_event(event_id, 5))
    unwaited = IssueBatcher(Topology(ha), scripts, 2.0, 64)
    waited = IssueBatcher(Topology(ha), scripts, 2.0, 64, wait=ReplicaWait(1, 100))
    assert (await issue_via(waited, event_id, "warm"))[0] == "ISSUED"  # its connection wrote
    with replicas_paused(nodes, event_id):
        assert (await issue_via(unwaited, event_id, "u1"))[0] == "ISSUED"
        with pytest.raises(StoreUnavailable, match="confirm"):
            await issue_via(waited, event_id, "u1")
    assert (await issue_via(waited, event_id, "u1"))[:2] == ["DUPLICATE", 2]


async def test_the_sold_out_cache_waits_for_its_winners_on_the_replicas(
    ha: RedisClient, nodes: RedisNodes, event_id: str
) -> None:
    scripts = Scripts.from_package()
    await EventStore(ha, scripts).create(_event(event_id, 1))
    frozen = FrozenStore(ha, ReplicaWait(1, 100))
    unwaited = IssueBatcher(Topology(ha), scripts, 2.0, 64)
    with replicas_paused(nodes, event_id):
        assert (await issue_via(unwaited, event_id, "u1"))[0] == "ISSUED"
        found = await frozen.frozen(event_id)
        assert found is not None
        assert "u1" in found.winners
        assert not await frozen.replicated(event_id)
    assert await frozen.replicated(event_id)


async def test_event_store_and_dead_letters(ha: RedisClient, event_id: str) -> None:
    store = EventStore(ha, Scripts.from_package())
    assert await store.create(_event(event_id, 3))
    assert not await store.create(_event(event_id, 3))
    assert await store.holds(event_id)
    await store.restore(_event(event_id, 3), [("a", 1, 1000), ("b", 2, 1001)], [])
    assert await store.issuance(event_id, "b") == (2, 1001)
    await ha.set(event_keys(event_id).stock, 3)
    assert await store.fix_stock(event_id, 3) == 1
    letters = DeadLetters(ha)
    entry = await letters.put(Letter(event_id, {"user_id": "x"}, "parse", "bad", 1, "test"))
    found = await letters.get(entry)
    assert found is not None
    assert found.event_id == event_id
    await letters.delete(entry)


async def test_outbox_streams_on_every_primary_are_read_and_acked(
    ha: RedisClient, event_id: str
) -> None:
    scripts = Scripts.from_package()
    store = EventStore(ha, scripts)
    events = [f"{event_id}-{i}" for i in range(6)]
    for e in events:
        await store.create(_event(e, 100))
    batcher = IssueBatcher(Topology(ha), scripts, 2.0, 64)
    await asyncio.gather(*(issue_via(batcher, e, f"u{i}") for e in events for i in range(20)))
    source = StreamSource(ha, "g", "c1", 50, 20, 60_000, ReplicaWait(1, 500))
    seen: set[tuple[str, str]] = set()
    for _ in range(50):
        batch = await source.fetch()
        seen |= {(d.event_id, d.win.user_id) for d in batch if d.win and d.event_id in events}
        await source.ack(batch)
        if len(seen) >= 120:
            break
    await source.close()
    assert seen == {(e, f"u{i}") for e in events for i in range(20)}


async def test_a_stale_slot_map_is_patched_on_moved(
    redis_cluster: RedisNodes, event_id: str
) -> None:
    """The batcher's client thinks another primary owns the event (as after a failover):
    the MOVED reply patches the map and the call is tried again, so nothing is felt."""
    scripts = Scripts.from_package()
    redis = redis_cluster.connect()
    try:
        await register_everywhere(Topology(redis), scripts)
        await EventStore(redis, scripts).create(_event(event_id, 5))
        assert isinstance(redis, RedisCluster)
        topology = Topology(redis)
        await topology.ready()
        slot = redis.keyslot(event_keys(event_id).stock)
        owner = redis.nodes_manager.slots_cache[slot][0]
        other = next(n for n in redis.get_primaries() if n.name != owner.name)
        redis.nodes_manager.slots_cache[slot] = [other]
        batcher = IssueBatcher(topology, scripts, 2.0, 64, wait=ReplicaWait(1, 500))
        reply = await issue_via(batcher, event_id, "u1")
        assert reply[:2] == ["ISSUED", 1]
        assert redis.nodes_manager.slots_cache[slot][0].name == owner.name
        del redis.nodes_manager.slots_cache[slot]  # a hole in the map: 503 at once, then mended
        with pytest.raises(StoreUnavailable):
            await issue_via(batcher, event_id, "u2")

        async def mended() -> bool:
            return slot in redis.nodes_manager.slots_cache

        await poll(mended, "the slot map re-read", 10)
        reply = await issue_via(batcher, event_id, "u2")
        assert reply[:2] == ["ISSUED", 2]
    finally:
        await redis.aclose()
