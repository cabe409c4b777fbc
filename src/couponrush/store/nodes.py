"""Where a key's commands go, on raw connections, for the pipelined paths.

Standalone and Sentinel have one primary: one route through the client's pool (Sentinel's
pool asks the sentinels for the primary on each new connection, so it follows a failover
by itself). Cluster has one route per primary, picked by the key's slot; the slot map is
patched on MOVED and re-read, at most every ``REFRESH_S``, after a connection failed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import structlog
from hiredis import pack_command
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import AbstractConnection, Connection
from redis.asyncio.sentinel import SentinelConnectionPool
from redis.exceptions import MovedError, ResponseError

from couponrush.settings import Settings
from couponrush.store.client import RedisClient

log = structlog.get_logger(__name__)
REFRESH_S = 0.25


@dataclass(frozen=True, slots=True)
class ReplicaWait:
    """WAIT for ``replicas`` replicas, at most ``timeout_ms``, after what a connection read
    or wrote.

    WAIT waits for the replication offset of the connection's own last write. A pipeline
    whose answers come from writes of other connections (already_issued, a sold-out
    state) may have written nothing, and its WAIT would then prove nothing about them. So
    the WAIT follows a write of its own, to the event's barrier key: the replication stream
    is one ordered log per primary, so a replica that holds the barrier write holds every
    write the primary made before it, and with them everything the connection read.
    """

    replicas: int
    timeout_ms: int

    @property
    def command(self) -> tuple[str, int, int]:
        return ("WAIT", self.replicas, self.timeout_ms)

    def commands(self, barrier: str) -> list[tuple[Any, ...]]:
        """The barrier write and the WAIT, to end a pipeline on one connection; the WAIT's
        reply is the last."""
        return [("INCR", barrier), self.command]

    def confirmed(self, reply: object) -> bool:
        return isinstance(reply, int) and reply >= self.replicas

    def confirms(self, replies: Sequence[object]) -> bool:
        """Whether the replies of ``commands`` (a pipeline's last two) confirm it: a barrier
        that failed (MOVED, NOREPLICAS) leaves the WAIT proving nothing."""
        barrier, waited = replies[-2:]
        return not isinstance(barrier, Exception) and self.confirmed(waited)


def replica_wait(settings: Settings) -> ReplicaWait | None:
    """The WAIT after each pipeline of wins, when the settings ask replicas to confirm."""
    if not settings.wait_replicas:
        return None
    return ReplicaWait(settings.wait_replicas, settings.redis_wait_timeout_ms)


class Route(Protocol):
    """Raw connections to one primary."""

    async def acquire(self) -> AbstractConnection: ...

    async def release(self, conn: AbstractConnection) -> None: ...


@dataclass(frozen=True, slots=True)
class PoolRoute:
    pool: ConnectionPool

    async def acquire(self) -> AbstractConnection:
        return await self.pool.get_connection()  # type: ignore[no-untyped-call,no-any-return]

    async def release(self, conn: AbstractConnection) -> None:
        await self.pool.release(conn)


@dataclass(frozen=True, slots=True)
class NodeRoute:
    node: ClusterNode  # equal by node name, so routes group calls per primary

    async def acquire(self) -> AbstractConnection:
        return self.node.acquire_connection()

    async def release(self, conn: AbstractConnection) -> None:
        self.node.release(cast(Connection, conn))


async def exchange(route: Route, commands: Sequence[Sequence[Any]]) -> list[Any]:
    """Write ``commands`` in one send on one connection of the route and read every reply;
    error replies come back in place as exceptions."""
    conn = await route.acquire()
    try:
        return await exchange_on(conn, commands)
    finally:
        await route.release(conn)


async def exchange_on(conn: AbstractConnection, commands: Sequence[Sequence[Any]]) -> list[Any]:
    """``exchange`` on a connection the caller holds; any failure disconnects it (a
    half-read connection must never serve another batch).

    hiredis packs the commands (redis-py's asyncio connection packs in Python, which costs
    more than the rest of a request) and parses the replies.
    """
    payload = b"".join([pack_command(tuple(c)) for c in commands])
    try:
        await conn.send_packed_command(payload, check_health=False)
        replies: list[Any] = []
        for _ in commands:
            try:
                replies.append(await conn.read_response())
            except ResponseError as exc:
                replies.append(exc)
        return replies
    except BaseException:
        await conn.disconnect()
        raise


class Topology:
    def __init__(self, client: RedisClient) -> None:
        self.client = client
        self._cluster = client if isinstance(client, RedisCluster) else None
        self._single = (
            None if isinstance(client, RedisCluster) else PoolRoute(client.connection_pool)
        )
        self._refresh: asyncio.Task[None] | None = None
        self._refreshed = 0.0

    async def ready(self) -> None:
        """Learn the slot map (Cluster); a no-op once known and in the other modes."""
        if self._cluster is not None:
            await self._cluster.initialize()

    def route(self, key: str) -> Route:
        """The primary of ``key``; SlotNotCoveredError while the slot map has a hole."""
        if self._single is not None:
            return self._single
        assert self._cluster is not None
        node = self._cluster.get_node_from_key(key)
        assert node is not None
        return NodeRoute(node)

    async def moved(self, exc: MovedError) -> None:
        """Patch the slot map from a MOVED reply (a failover or a resharding)."""
        if self._cluster is not None:
            await self._cluster.nodes_manager.move_slot(exc)

    def lost(self) -> None:
        """A connection failed: re-read the slot map soon, in the background. Until the
        replica is promoted the map still names the dead primary, hence the rate limit."""
        if self._cluster is None or (self._refresh and not self._refresh.done()):
            return
        if time.monotonic() - self._refreshed < REFRESH_S:
            return
        self._refreshed = time.monotonic()
        self._refresh = asyncio.get_running_loop().create_task(self._reread(self._cluster))

    async def _reread(self, cluster: RedisCluster) -> None:
        try:
            await cluster.nodes_manager.initialize()
        except Exception as exc:  # still failing over: the next failure tries again
            log.info("slot_map_refresh_failed", error=repr(exc))

    async def on_every_node(self, *command: Any) -> list[Any]:
        """Run ``command`` on every data node, replicas included; a reply or the exception
        per node (a node that is down is skipped, not fatal)."""
        await self.ready()
        if self._cluster is not None:
            calls = [node.execute_command(*command) for node in self._cluster.get_nodes()]
            return list(await asyncio.gather(*calls, return_exceptions=True))
        assert isinstance(self.client, Redis)
        primary = self.client.execute_command(*command)  # type: ignore[no-untyped-call]
        found: list[Any] = list(await asyncio.gather(primary, return_exceptions=True))
        pool = self.client.connection_pool
        if isinstance(pool, SentinelConnectionPool):
            replicas = await pool.sentinel_manager.discover_slaves(pool.service_name)
            found += await asyncio.gather(
                *(_once(pool, addr, command) for addr in replicas), return_exceptions=True
            )
        return found

    async def aclose(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()


async def _once(pool: ConnectionPool, addr: tuple[str, int], command: tuple[Any, ...]) -> Any:
    """One command on a replica that a Sentinel pool does not reach."""
    wanted = ("password", "username", "socket_timeout", "socket_connect_timeout")
    kwargs = {k: v for k, v in pool.connection_kwargs.items() if k in wanted}
    if kwargs.get("socket_timeout") is None:
        kwargs["socket_timeout"] = kwargs.get("socket_connect_timeout")
    replica = Redis(host=addr[0], port=addr[1], decode_responses=True, **kwargs)
    try:
        return await replica.execute_command(*command)  # type: ignore[no-untyped-call]
    finally:
        await replica.aclose()
