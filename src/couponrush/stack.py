"""The local stack: Redis, app workers and the nginx gateway under supervisord.

State lives under ``var/``: Redis data, logs, the rendered configs and ``state.json``
(mode 0600) with the ports and the generated secrets, which survive restarts.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from couponrush import gateway, procs, stack_programs
from couponrush.db import localpg, migrate
from couponrush.errors import StackError
from couponrush.settings import Settings
from couponrush.supervisor import Supervisor, render_conf

PREFERRED_GATEWAY_PORT = 8080


@dataclass(frozen=True)
class StackState:
    url: str
    redis_url: str
    admin_token: str
    coupon_secret: str
    redis_port: int
    workers: int
    app_ports: list[int] = field(default_factory=list)
    app_sockets: list[str] = field(default_factory=list)
    gateway_port: int = 0
    pg_port: int = 0
    queue: str = "stream"
    kafka_port: int = 0

    @property
    def database_url(self) -> str:
        return localpg.database_url(self.pg_port)

    @property
    def app_urls(self) -> list[str]:
        """Direct URLs of the app workers (empty when they listen on Unix sockets)."""
        return [f"http://127.0.0.1:{port}" for port in self.app_ports]

    @property
    def app_addrs(self) -> list[str]:
        """The app workers as nginx upstream addresses."""
        return [f"127.0.0.1:{p}" for p in self.app_ports] + [f"unix:{s}" for s in self.app_sockets]


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.var = settings.var_dir.resolve()
        self.state_file = self.var / "state.json"
        self.supervisor = Supervisor(self.var)

    def load_state(self) -> StackState | None:
        if not self.state_file.exists():
            return None
        raw = json.loads(self.state_file.read_text())
        known = {f.name for f in fields(StackState)}
        try:
            return StackState(**{k: v for k, v in raw.items() if k in known})
        except TypeError:
            return None

    def _save_state(self, state: StackState) -> None:
        self.var.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(state), fh, indent=2)

    def running(self) -> bool:
        return self.supervisor.running()

    def processes(self) -> list[dict[str, Any]]:
        return self.supervisor.processes()

    def _choose(self, workers: int | None, queue: str | None,
                previous: StackState | None) -> StackState:  # fmt: skip
        s = self.settings
        gateway_port = _port(s.gateway_port, PREFERRED_GATEWAY_PORT)
        redis_port = _port(s.stack_redis_port or (previous.redis_port if previous else 0), 0)
        pg_port = _port(s.stack_pg_port or (previous.pg_port if previous else 0), 0)
        queue = queue or s.queue
        count = workers or s.workers
        uds = s.app_transport == "uds"
        run = self.var / "run"
        return StackState(
            url=f"http://127.0.0.1:{gateway_port}",
            redis_url=f"redis://127.0.0.1:{redis_port}/0",
            admin_token=previous.admin_token if previous else secrets.token_urlsafe(24),
            coupon_secret=previous.coupon_secret if previous else secrets.token_urlsafe(32),
            redis_port=redis_port,
            workers=count,
            app_ports=[] if uds else [procs.free_port() for _ in range(count)],
            app_sockets=[str(run / f"app-{i}.sock") for i in range(count)] if uds else [],
            gateway_port=gateway_port,
            pg_port=pg_port,
            queue=queue,
            kafka_port=_port(s.stack_kafka_port, 0) if queue == "kafka" else 0,
        )

    def up(self, workers: int | None = None, queue: str | None = None) -> StackState:
        """Start everything, or return the state of the stack that already runs."""
        previous = self.load_state()
        if previous and self.running():
            self._refresh_gateway(previous)
            return previous
        state = self._choose(workers, queue, previous)
        stack_programs.prepare(self.var)
        shutil.rmtree(self.var / "metrics", ignore_errors=True)
        (self.var / "metrics").mkdir()
        self._save_state(state)
        programs = stack_programs.programs(self.settings, state, self.var)
        env = stack_programs.environment(state, self.var)
        self.supervisor.start(render_conf(self.var, programs, env))
        try:
            self._wait_stores(state)
            self.supervisor.start_programs([n for n, p in programs.items() if not p.autostart])
            self._wait_ready(state)
        except StackError as exc:
            failed = self._failure_report()
            self.down()
            raise StackError(f"{exc}{failed}; the stack was stopped again") from exc
        return state

    def _refresh_gateway(self, state: StackState) -> None:
        """Apply changed gateway settings (limits, trusted proxies) to a running stack:
        nginx reloads gracefully, without dropping a request."""
        conf = self.var / "nginx" / "nginx.conf"
        before = conf.read_text() if conf.exists() else ""
        listen = f"{self.settings.gateway_host}:{state.gateway_port}"
        gateway.write_config(self.settings, listen, state.app_addrs, conf.parent)
        if conf.read_text() == before:
            return
        master = next(p["pid"] for p in self.processes() if p["name"] == "gateway")
        old = procs.children(master)
        self.supervisor.signal("gateway", "HUP")
        # Done once the workers of the old configuration have left (they stop accepting
        # at once and finish what they hold).
        procs.wait_until(lambda: not old & procs.children(master), "the gateway reload", 30)

    def _failure_report(self) -> str:
        """The processes that are not running, each with the end of its log."""
        lines = []
        for p in self.processes():
            if p["state"] != "RUNNING":
                log = self.var / "logs" / f"{p['name']}.log"
                tail = (
                    log.read_text(errors="replace").strip().splitlines()[-3:]
                    if log.exists()
                    else []
                )
                lines.append(f"\n  {p['name']} is {p['state']}: " + " | ".join(tail))
        return "".join(lines)

    def _wait_stores(self, state: StackState) -> None:
        """Redis and PostgreSQL answer, and the schema is current."""
        procs.wait_until(self.running, "supervisord", 20)
        procs.wait_until(procs.redis_ready(state.redis_url), "Redis", 30)
        procs.wait_until(localpg.pg_ready(state.database_url), "PostgreSQL", 60)
        localpg.ensure_database(state.database_url)
        migrate.upgrade(state.database_url)

    def _wait_ready(self, state: StackState) -> None:
        for url in state.app_urls:
            procs.wait_until(procs.http_ready(url), f"the app worker at {url}", 60)
        for sock in state.app_sockets:
            ready = procs.http_ready("http://app", uds=sock)
            procs.wait_until(ready, f"the app worker at {sock}", 60)
        procs.wait_until(procs.http_ready(state.url), "the gateway", 30)
        procs.wait_until(self._all_running, "every supervised process", 20)

    def _all_running(self) -> bool:
        return all(p["state"] == "RUNNING" for p in self.processes())

    def down(self) -> bool:
        """Stop everything `up` started; False when nothing was running."""
        if not self.running():
            return False
        self.supervisor.shutdown()
        procs.wait_until(lambda: not self.supervisor.socket.exists(), "supervisord shutdown", 30)
        return True


def _port(configured: int, preferred: int) -> int:
    """The configured port if free, else the preferred one if free, else any free one."""
    for port in (configured, preferred):
        if port and procs.port_is_free(port):
            return port
    return procs.free_port()


def require_running(stack: Stack) -> StackState:
    state = stack.load_state()
    if state is None or not stack.running():
        raise StackError("the local stack is not running; start it with 'couponrush up'")
    return state
