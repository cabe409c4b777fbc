"""Redis's users as deployed (deploy/redis/users.acl, rendered as compose renders it): the
app, the consumer and an operator's commands run a rush end to end, each logged in as its
own user, and Redis refuses them nothing (ACL LOG stays empty), and a server killed with
SIGKILL comes back with every win from its append-only file; in a Cluster formed by
deploy/redis/cluster-init.sh, replication logs in too (WAIT confirms every win). Then
what an attacker holding one login, or none, would try is refused."""

from __future__ import annotations

import json
import secrets
import shlex
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from pydantic import SecretStr

from couponrush.core.errors import ConfigError
from couponrush.rush.burst import burst_users, run_burst
from couponrush.rush.oracle import check
from couponrush.settings import Settings
from couponrush.stack.procs import spawn, stop
from couponrush.store import client
from couponrush.store.events import EventStore
from couponrush.store.scripts import Scripts
from tests.deploy.acl import AclServers, acl_servers
from tests.fixtures.app import AppServer, app_env, running_app
from tests.fixtures.postgres import PgServer
from tests.helpers import CLI, create_event, db_rows, poll, run_cli, wait_rows

STOCK, USERS = 60, 200


@pytest.fixture(scope="module")
def standalone() -> Iterator[AclServers]:
    with acl_servers(cluster=False) as servers:
        yield servers


@pytest.fixture(scope="module")
def cluster() -> Iterator[AclServers]:
    with acl_servers(cluster=True) as servers:
        yield servers


def _where(servers: AclServers) -> dict[str, str]:
    if len(servers.ports) == 1:
        return {"redis_url": f"redis://127.0.0.1:{servers.ports[0]}/0"}
    seeds = ",".join(f"redis://127.0.0.1:{p}" for p in servers.ports)
    return {"redis_url": seeds, "redis_mode": "cluster"}


def _env(servers: AclServers, user: str, pg: PgServer, **settings: str) -> dict[str, str]:
    everything = {
        **_where(servers),
        **servers.logins.settings(user),
        "database_url": pg.url,
        "log_level": "warning",
        **settings,
    }
    return {f"COUPONRUSH_{k.upper()}": v for k, v in everything.items()}


async def _race(servers: AclServers, pg: PgServer, db: Any, work: Path, event_id: str) -> None:
    for port in servers.ports:
        with servers.admin(port) as node:
            node.acl_log_reset()
    token, secret, feed = (secrets.token_hex(16) for _ in range(3))
    env = app_env("", token, secret, work / "metrics", edge_feed_token=feed)
    env |= _env(servers, "app", pg, edge_feed_token=feed)
    pipeline = {**env, **_env(servers, "pipeline", pg, consumer_block_ms="50")}
    consumer = spawn([*CLI, "consume"], work / "consumer.log", pipeline)
    try:
        with running_app(env, work) as url:
            app = AppServer(url, token, secret, env["COUPONRUSH_REDIS_URL"])
            create_event(app, event_id, STOCK)
            answers = await run_burst(
                url, event_id, burst_users(USERS, USERS), 32, show_progress=False
            )
            await _reads_of_the_app(url, token, feed, event_id)
            await _a_shuffled_queue(app, f"{event_id}-q")
        winners, stock = await _winners(servers, event_id)
        assert check(STOCK, answers, winners, stock, expect_sold_out=True) == []
        await wait_rows(db, event_id, len(winners))
        assert {u: slot for u, (slot, _) in (await db_rows(db, event_id)).items()} == winners
    finally:
        stop(consumer)
    ops = {**env, **_env(servers, "ops", pg)}
    done = run_cli(["reconcile", event_id, "--json"], ops)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["ok"] is True
    assert run_cli(["dlq", "list"], ops).returncode == 0
    assert servers.acl_log() == []
    if len(servers.ports) == 1:
        # The append-only file replays the scripts' transactions under these ACLs.
        servers.crash_and_restart(servers.ports[0])
        assert await _winners(servers, event_id) == (winners, stock)


async def _reads_of_the_app(url: str, token: str, feed: str, event_id: str) -> None:
    """The sold-out feed and a dashboard frame: the app's reads beyond issuing."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        sold = await http.get("/internal/edge/soldout", headers={"Authorization": f"Bearer {feed}"})
        assert event_id in sold.text, sold.text
        assert (await http.get(f"/v1/events/{event_id}")).status_code == 200
        login = await http.post("/dashboard/-/session", json={"token": token})
        assert login.status_code == 200
        async with http.stream("GET", f"/dashboard/{event_id}/stream") as frames:
            async for line in frames.aiter_lines():
                if line.startswith("data:"):
                    assert '"outbox' in line or "pipeline" in line, line
                    return
    raise AssertionError("no dashboard frame")


async def _a_shuffled_queue(app: AppServer, event_id: str) -> None:
    """A shuffled opening's queue as the app user: join, place, state, order, admission."""
    starts = datetime.now(UTC) + timedelta(seconds=1.5)
    create_event(app, event_id, 2, starts_at=starts, opening="shuffled")
    async with httpx.AsyncClient(base_url=app.url, timeout=10) as http:
        for user in ("q1", "q2", "q1"):
            joined = await http.post(f"/v1/events/{event_id}/queue", json={"user_id": user})
            assert joined.status_code in (200, 201), joined.text
        state = f"/v1/events/{event_id}/queue/state"
        await poll(lambda: _opened(http, state), "the opening", 10)
        assert (await http.get(f"/v1/events/{event_id}/queue/order")).status_code == 200
        assert (await http.get(f"/v1/events/{event_id}/queue/q1")).json()["admitted"]
        won = await http.post(f"/v1/events/{event_id}/issue", json={"user_id": "q2"})
        assert won.status_code == 201, won.text


async def _opened(http: httpx.AsyncClient, state: str) -> bool:
    return (await http.get(state)).json()["seed"] is not None


async def _winners(servers: AclServers, event_id: str) -> tuple[dict[str, int], int]:
    admin = Settings.model_validate({**_where(servers), **servers.logins.settings("admin")})
    redis_client = client.connect(admin, 5.0)
    try:
        found, stock = await EventStore(redis_client, Scripts.from_package()).winners(event_id)
    finally:
        await redis_client.aclose()
    return {user: slot for user, (slot, _) in found.items()}, int(stock or 0)


async def test_each_process_runs_as_its_own_user_and_is_refused_nothing(
    standalone: AclServers, pg: PgServer, db: Any, tmp_path: Path, event_id: str
) -> None:
    await _race(standalone, pg, db, tmp_path, event_id)


async def test_in_a_cluster_replication_logs_in_and_wait_confirms_every_win(
    cluster: AclServers, pg: PgServer, db: Any, tmp_path: Path, event_id: str
) -> None:
    for port in cluster.ports:
        with cluster.admin(port) as node:
            info = node.info("replication")
            if info["role"] == "master":
                assert info["connected_slaves"] == 2, (port, info)
    await _race(cluster, pg, db, tmp_path, event_id)


# ---- what an attacker tries --------------------------------------------------------------

_EVENT = "coupon:{spring}"
# What each login must be refused (shell words; {E} is an event's key prefix). DEBUG is
# not among them: Redis 7 refuses it to every connection (enable-debug-command no).
REFUSED = {
    "app": [
        "FLUSHALL",
        "FLUSHDB",
        "CONFIG GET masterauth",
        "CONFIG SET appendonly no",
        "KEYS *",
        "SCAN 0",
        "SHUTDOWN NOSAVE",
        "ACL LIST",
        "MONITOR",
        "CLIENT LIST",
        "CLIENT KILL ID 1",
        "SCRIPT FLUSH",
        "REPLICAOF NO ONE",
        "EVAL 'return 1' 0",
        "XREADGROUP GROUP couponrush-db x STREAMS {E}:outbox >",
        "XACK {E}:outbox couponrush-db 0-1",
        "XTRIM {E}:outbox MAXLEN 0",
        "XDEL {E}:outbox 0-1",
        "XGROUP DESTROY {E}:outbox couponrush-db",
        "XRANGE coupon:dlq - +",
        "XADD coupon:dlq * a b",
        "DEL coupon:dlq",
        "GET other:key",
        "DEL {E}:stock",
        "HGETALL coupon:reconcile",
        "MIGRATE 127.0.0.1 1 {E}:stock 0 1",
    ],
    "pipeline": [
        "FLUSHALL",
        "CONFIG GET *",
        "KEYS *",
        "SET {E}:stock 1000",
        "DEL {E}:meta",
        "HSET {E}:participants mallory 1:0",
        "SCRIPT LOAD 'return 1'",
        "SADD coupon:events x",
        "XADD {E}:outbox * a b",
        "XRANGE coupon:dlq - +",
        "XTRIM coupon:dlq MAXLEN 0",
        "XDEL coupon:dlq 0-1",
        "DEL coupon:dlq",
        "GET other:key",
    ],
    "ops": [
        "FLUSHALL",
        "KEYS *",
        "CONFIG GET *",
        "GET other:key",
        "SHUTDOWN NOSAVE",
        "ACL LIST",
        "SCRIPT FLUSH",
        "MONITOR",
    ],
    "exporter": ["GET {E}:stock", "CONFIG GET masterauth", "SCAN 0", "FLUSHALL"],
    "replica": ["GET {E}:stock", "FLUSHALL", "INFO", "KEYS *"],
}
CASES = [(user, command) for user, commands in REFUSED.items() for command in commands]


@pytest.mark.parametrize(("user", "command"), CASES, ids=[f"{u}: {c}" for u, c in CASES])
def test_a_login_is_refused_what_its_process_never_does(
    standalone: AclServers, user: str, command: str
) -> None:
    words = shlex.split(command.replace("{E}", _EVENT))
    login = standalone.logins.client(standalone.ports[0], user)
    with login, pytest.raises(redis.exceptions.NoPermissionError):
        login.execute_command(*words)  # type: ignore[no-untyped-call]


SCRIPTS = [
    ("return redis.call('FLUSHALL')", ()),
    ("return redis.call('XRANGE', KEYS[1], '-', '+')", ("coupon:dlq",)),
    ("return redis.call('XRANGE', 'coupon:dlq', '-', '+')", ()),
]


def test_a_script_runs_with_its_caller_s_rights(standalone: AclServers) -> None:
    """SCRIPT LOAD and EVALSHA are the app's: a script of its own still cannot do more,
    neither with a key it declares nor with one it names inside."""
    refused = r"can't|no permissions"
    with standalone.logins.client(standalone.ports[0], "app") as app:
        for body, keys in SCRIPTS:
            sha = app.script_load(body)
            with pytest.raises(redis.exceptions.ResponseError, match=refused):
                app.evalsha(sha, len(keys), *keys)


def test_nobody_gets_in_without_a_login(standalone: AclServers) -> None:
    port = standalone.ports[0]
    nobody = standalone.logins.client(port, None)
    with nobody, pytest.raises(redis.exceptions.AuthenticationError):
        nobody.ping()
    for user, password in (
        ("default", "x"),
        ("app", "wrong" * 8),
        ("admin", standalone.logins.password("app")),
    ):
        guess = redis.Redis(port=port, username=user, password=password)
        with guess, pytest.raises(redis.exceptions.AuthenticationError):
            guess.ping()


def test_credentials_are_given_once() -> None:
    both = Settings(
        redis_url="redis://app:x@127.0.0.1:1/0",
        redis_username="app",
        redis_password=SecretStr("y" * 16),
    )
    with pytest.raises(ConfigError, match="not both"):
        client.credentials(both)
    assert client.credentials(Settings(redis_password=SecretStr("y" * 16))) == {
        "password": "y" * 16
    }
