"""The deployment raced: a rush through the compose stack's published gateway, with an app
container and the Redis primary of the event's slot killed (SIGKILL) mid-burst, then the
invariants of DESIGN §1 checked against what Redis and PostgreSQL hold, read with the
stores' own clients inside their containers (nothing of them is published)."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from couponrush.client import Client
from couponrush.db.repository import IssuanceRow
from couponrush.rush import oracle, runner
from couponrush.rush.chaos.check import SetCheck, check
from couponrush.rush.plan import RushPlan
from couponrush.rush.runner import Merged
from couponrush.rush.verify import lag_ms
from couponrush.stack.compose import DEPLOY, SMALL, Project, terminate_as_interrupt
from couponrush.stack.compose_env import read_env, write_env
from couponrush.stack.containers import Engine
from couponrush.stack.procs import free_port

DRAIN_S = 60.0


class Deployment(Protocol):
    """What the race needs of a running deployment (compose's Project, kube's KubeStack):
    the engine, an env file with the passwords it checks with, each service's containers."""

    engine: Engine

    @property
    def env_file(self) -> Path: ...

    def containers(self, service: str) -> list[str]: ...


@dataclass
class Topology:
    """Which services hold what: the app, the Redis nodes, PostgreSQL, the gateway."""

    app: str = "app"
    redis: tuple[str, ...] = ("redis-1", "redis-2", "redis-3", "redis-4", "redis-5", "redis-6")
    postgres: str = "postgres"
    gateway: str = "gateway"


@dataclass
class RaceResult:
    plan: RushPlan
    merged: Merged
    killed: list[str]
    breaches: list[str]
    set_check: SetCheck
    edge_answers: int
    lag: dict[str, float] = field(default_factory=dict)
    up_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "clients": self.plan.clients,
            "stock": self.plan.stock,
            "killed": self.killed,
            "up_s": round(self.up_s, 1),
            "wall_s": round(self.merged.wall_s, 2),
            "final": dict(self.merged.final),
            "statuses": {str(k): v for k, v in self.merged.statuses.items()},
            "edge_sold_out_answers": self.edge_answers,
            "breaches": self.breaches,
            "check": self.set_check.to_json(),
            "win_to_row_ms": self.lag,
        }


def race(
    project: Deployment, plan: RushPlan, topology: Topology, kill_after_s: float
) -> RaceResult:
    """Create the event, run ``plan`` through the gateway, kill one app container and the
    event's Redis primary ``kill_after_s`` into it, then check."""
    env = read_env(project.env_file)
    url = f"http://127.0.0.1:{env.get('GATEWAY_PORT') or '8080'}"
    create_event(url, env["COUPONRUSH_ADMIN_TOKEN"], plan.event_id, plan.stock)
    victims = [project.containers(topology.app)[0], primary_of(project, topology, plan.event_id)]
    start_at = time.time() + runner.START_DELAY_S
    killer = threading.Timer(start_at + kill_after_s - time.time(), _kill, (project, victims))
    killer.start()
    try:
        merged = runner.run(plan, url, show_progress=False, start_at=start_at)
    finally:
        killer.join()
    return judge(project, topology, plan, merged, victims)


def judge(
    project: Deployment, topology: Topology, plan: RushPlan, merged: Merged, killed: list[str]
) -> RaceResult:
    winners, stock_left = redis_winners(project, topology, plan.event_id)
    rows = drained_rows(project, topology, plan.event_id, len(winners))
    told = {user: (slot, code) for user, slot, code in merged.winners}
    answers = [
        oracle.Answer(user, 201, "issued", slot, code) for user, slot, code in merged.winners
    ]
    breaches = oracle.check(
        plan.stock, answers, winners, stock_left, expect_sold_out=plan.clients >= plan.stock
    )
    errors = {s: n for s, n in merged.statuses.items() if s >= 500 and s != 503}
    if errors or merged.unfinished:
        breaches.append(f"no definite answer: {errors}, unfinished {merged.unfinished}")
    found = check(plan.stock, told, merged.undecided, rows, winners, {})
    if len(rows) != len(winners):
        breaches.append(f"{len(rows)} rows for {len(winners)} Redis winners after the drain")
    edge = edge_answers(project, topology)
    return RaceResult(plan, merged, killed, breaches, found, edge, lag_ms(rows))


def create_event(url: str, token: str, event_id: str, stock: int) -> None:
    """Through the SDK, which waits out a 503 as Retry-After asks (creation is idempotent):
    a pod or container just reported ready may still be finding its peers."""
    with Client(url, admin_token=token) as sdk:
        sdk.create_event(event_id, stock, name=event_id)


def _kill(project: Deployment, names: list[str]) -> None:
    """SIGKILL to each container's main process from the host, as a crash: the engine's
    own `kill` counts as stopped by the user, and its restart policy would not apply."""
    for name in names:
        pid = project.engine.run("inspect", "--format", "{{.State.Pid}}", name).stdout.strip()
        if pid.isdigit() and int(pid) > 0:
            os.kill(int(pid), signal.SIGKILL)


def _redis_cli(project: Deployment, topology: Topology, *args: str) -> str:
    """redis-cli in the first Redis container as users.acl's admin (-c follows a
    cluster's redirects)."""
    name = project.containers(topology.redis[0])[0]
    auth = f"REDISCLI_AUTH={read_env(project.env_file)['REDIS_ADMIN_PASSWORD']}"
    return project.engine.run(
        "exec", "-e", auth, name, "redis-cli", "-c", "--user", "admin", *args
    ).stdout


def primary_of(project: Deployment, topology: Topology, event_id: str) -> str:
    """The container of the Redis primary that holds the event's slot (the one node of a
    standalone topology)."""
    if len(topology.redis) < 3:
        return project.containers(topology.redis[0])[0]
    slot = int(_redis_cli(project, topology, "cluster", "keyslot", f"coupon:{{{event_id}}}:stock"))
    for line in _redis_cli(project, topology, "cluster", "nodes").splitlines():
        parts = line.split()
        if "master" in parts[2] and _serves(parts[8:], slot):
            host = parts[1].split(",", 1)[1] if "," in parts[1] else parts[1]
            return project.containers(host)[0]
    raise RuntimeError(f"no primary serves slot {slot}")


def _serves(ranges: list[str], slot: int) -> bool:
    for part in ranges:
        low, _, high = part.partition("-")
        if low.isdigit() and int(low) <= slot <= int(high or low):
            return True
    return False


def redis_winners(
    project: Deployment, topology: Topology, event_id: str
) -> tuple[dict[str, int], int]:
    """Winners (user -> slot) and the stock counter, as Redis holds them now."""
    deadline = time.monotonic() + DRAIN_S
    while True:  # the killed primary's slot may still be failing over
        try:
            flat = _redis_cli(project, topology, "hgetall", f"coupon:{{{event_id}}}:participants")
            stock = _redis_cli(project, topology, "get", f"coupon:{{{event_id}}}:stock")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    words = flat.split()
    winners = {words[i]: int(words[i + 1].split(":")[0]) for i in range(0, len(words) - 1, 2)}
    return winners, int(stock.strip() or 0)


def drained_rows(
    project: Deployment, topology: Topology, event_id: str, expected: int
) -> list[IssuanceRow]:
    """The event's rows once the pipeline has drained them all (or at the deadline)."""
    deadline = time.monotonic() + DRAIN_S
    rows = _rows(project, topology, event_id)  # a failing psql raises: no silent zero
    while len(rows) < expected and time.monotonic() < deadline:
        time.sleep(1)
        rows = _rows(project, topology, event_id)
    return rows


def _rows(project: Deployment, topology: Topology, event_id: str) -> list[IssuanceRow]:
    """The event's rows, read with psql in the PostgreSQL container (the id is a psql
    variable, quoted by psql)."""
    name = project.containers(topology.postgres)[0]
    password = read_env(project.env_file)["POSTGRES_PASSWORD"]
    psql = ["psql", "-U", "couponrush", "-d", "couponrush", "-tA", "-v", f"event={event_id}"]
    done = project.engine.run(
        "exec", "-i", "-e", f"PGPASSWORD={password}", name, *psql, input_text=_ROWS
    )
    return [_row(r) for r in json.loads(done.stdout or "[]")]


_ROWS = """SELECT coalesce(json_agg(json_build_object('u', user_id, 's', slot, 'c', coupon_code,
    'i', issued_at, 'p', persisted_at)), '[]') FROM coupon_issuances WHERE event_id = :'event';
"""


def _row(raw: dict[str, Any]) -> IssuanceRow:
    stamps = [datetime.fromisoformat(raw[k]) for k in ("i", "p")]
    return IssuanceRow(raw["u"], raw["s"], raw["c"], *stamps)


def edge_answers(project: Deployment, topology: Topology) -> int:
    """The sold-out answers the gateway's edge made itself (its /gateway/metrics)."""
    name = project.containers(topology.gateway)[0]
    text = project.engine.run(
        "exec", name, "curl", "-fsS", "http://127.0.0.1:8080/gateway/metrics"
    ).stdout
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith("couponrush_gateway_edge_answers_total")
    )


def race_name() -> str:
    """A compose project of this run's own: races from two checkouts on one host (their
    test suites) must not share containers, volumes or networks."""
    return f"couponrush-race-{os.getpid()}"


def run_race(
    root: Path, short: bool, clients: int, say: Callable[[str], None], name: str = ""
) -> RaceResult:
    """The whole run: a compose env of its own (fresh secrets, the load-test switches), a
    project of its own name (a stack from `make compose-up` is left alone), up, race,
    down; the stack is removed whatever happened, Ctrl-C and SIGTERM included."""
    with tempfile.TemporaryDirectory(prefix="couponrush-race-") as folder:
        env_file = Path(folder) / "compose.env"
        write_env(root / DEPLOY / "compose.env.example", env_file, Path(folder) / "key.pem")
        with env_file.open("a") as out:
            out.write(_LOAD_TEST.format(port=free_port(), secrets=Path(folder) / "redis"))
        project = Project.for_repo(root, env_file, short, name=name or race_name(), say=say)
        project.down()
        with terminate_as_interrupt():
            try:
                took = project.up(SMALL if short else None, only=short)
                say(f"healthy after {took:.0f} s")
                plan = plan_of(short, clients)
                topology = Topology(redis=("redis-1", "redis-2")) if short else Topology()
                result = race(project, plan, topology, kill_after_s=2.0)
                result.up_s = took
                return result
            finally:
                project.down()


# The load-test switches of docs/deployment.md, a gateway port and Redis's users of its own.
_LOAD_TEST = """
COUPONRUSH_AUTH=none
COUPONRUSH_ALLOW_UNSIGNED_USERS=true
COUPONRUSH_TRUSTED_PROXIES=10.0.0.0/8
GATEWAY_PORT={port}
REDIS_SECRETS={secrets}
"""


def plan_of(short: bool, clients: int) -> RushPlan:
    """The rush of a race: 20,000 clients for 1,000 coupons (short: 4,000 for 300)."""
    count = clients or (4_000 if short else 20_000)
    return RushPlan(
        event_id=f"deployed-{int(time.time())}",
        clients=count,
        stock=300 if short else 1_000,
        connections=128 if short else 256,
        arrival="ramp",
        arrival_value=5.0 if short else 8.0,
        max_duration_s=120,
    )
