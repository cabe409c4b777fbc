"""The local stack: Redis, PostgreSQL, app workers, the nginx gateway and the pipeline
under supervisord.

State lives under ``var/``: Redis data, logs, the rendered configs and ``state.json``
(mode 0600) with the ports and the generated secrets, which survive restarts.
"""

from __future__ import annotations

import secrets
import shutil
from typing import Any

from couponrush.core.errors import StackError
from couponrush.db import migrate
from couponrush.settings import Settings
from couponrush.stack import (
    kafka,
    kafka_cluster,
    kafka_dist,
    monitoring,
    netns,
    postgres,
    redis_ha,
    redis_layout,
)
from couponrush.stack.procs import children, free_port, port_is_free
from couponrush.stack.programs import gateway_config, prepare, programs
from couponrush.stack.ready import http_ready, wait_until
from couponrush.stack.state import StackState, kafka_folder, kafka_ports, load, save
from couponrush.stack.supervisor import Supervisor, render_conf

PREFERRED_GATEWAY_PORT = 8080
_DOWN = frozenset({"STOPPED", "EXITED", "FATAL"})


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.var = settings.var_dir.resolve()
        self.state_file = self.var / "state.json"
        self.supervisor = Supervisor(self.var)

    def load_state(self) -> StackState | None:
        return load(self.state_file)

    def running(self) -> bool:
        return self.supervisor.running()

    def processes(self) -> list[dict[str, Any]]:
        return self.supervisor.processes()

    def _choose(
        self,
        workers: int | None,
        queue: str | None,
        redis: str | None,
        prometheus: bool,
        previous: StackState | None,
        isolated: bool,
        brokers: int | None = None,
    ) -> StackState:
        s = self.settings
        gateway_port = _port(s.gateway_port, PREFERRED_GATEWAY_PORT)
        queue = queue or s.queue
        found = redis_layout.choose(
            redis or s.redis_mode,
            s.stack_redis_port,
            previous,
            isolated,
            lambda port: _port(port, 0),
            queue,
        )
        pg_port = _port(s.stack_pg_port or (previous.pg_port if previous else 0), 0)
        count = workers or s.workers
        wanted = brokers or s.stack_kafka_brokers
        kafka = kafka_ports(wanted, s.stack_kafka_port, previous) if queue == "kafka" else ([], [])
        uds = s.app_transport == "uds"
        run = self.var / "run"
        return StackState(
            url=f"http://127.0.0.1:{gateway_port}",
            redis_url=found.url,
            admin_token=previous.admin_token if previous else secrets.token_urlsafe(24),
            coupon_secret=previous.coupon_secret if previous else secrets.token_urlsafe(32),
            edge_feed_token=(previous and previous.edge_feed_token) or secrets.token_urlsafe(24),
            redis_port=found.data_ports[0],
            workers=count,
            app_ports=[] if uds else [free_port() for _ in range(count)],
            app_sockets=[str(run / f"app-{i}.sock") for i in range(count)] if uds else [],
            gateway_port=gateway_port,
            pg_port=pg_port,
            queue=queue,
            kafka_ports=kafka[0],
            kafka_controller_ports=kafka[1],
            redis_mode=found.mode,
            redis_ports=found.data_ports,
            sentinel_ports=found.sentinel_ports,
            netns_prefix=found.netns_prefix,
            netns_subnet=found.netns_subnet,
            **_monitoring_ports(queue, prometheus),
        )

    def up(
        self,
        workers: int | None = None,
        queue: str | None = None,
        redis: str | None = None,
        prometheus: bool | None = None,
        isolated: bool = False,
        kafka_brokers: int | None = None,
    ) -> StackState:
        """Start everything, or return the state of the stack that already runs (starting
        again what was stopped or killed, such as a Redis node of a failover).

        ``prometheus``: also the exporters and a Prometheus (default: STACK_PROMETHEUS);
        ``isolated``: each Redis node and sentinel (Sentinel, Cluster) and each Kafka node
        in a network namespace of its own;
        ``kafka_brokers``: Apache Kafka nodes in Kafka mode (default: STACK_KAFKA_BROKERS)."""
        previous = self.load_state()
        if previous and self.running():
            self._refresh_gateway(previous)
            self._restart_stopped(previous)
            return previous
        netns.remove(self.var)  # what a crashed run left behind
        wanted = self.settings.stack_prometheus if prometheus is None else prometheus
        state = self._choose(workers, queue, redis, wanted, previous, isolated, kafka_brokers)
        prepare(self.var)
        if state.queue == "kafka":
            kafka_cluster.prepare(
                kafka_folder(self.var, len(state.kafka_ports)),
                state.kafka_nodes(self.var),
                kafka_dist.fetch(),
            )
        shutil.rmtree(self.var / "metrics", ignore_errors=True)
        (self.var / "metrics").mkdir()
        save(self.state_file, state)
        net = None
        if state.netns_subnet:
            members = list(state.netns_members)
            net = netns.create(self.var, state.netns_prefix, state.netns_subnet, members)
        found = programs(self.settings, state, self.var, net)
        self.supervisor.start(render_conf(self.var, found, state.environment()))
        try:
            self._wait_stores(state)
            self.supervisor.start_programs([n for n, p in found.items() if not p.autostart])
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
        gateway_config(self.settings, state, self.var)
        if conf.read_text() == before:
            return
        master = next(p["pid"] for p in self.processes() if p["name"] == "gateway")
        old = children(master)
        self.supervisor.signal("gateway", "HUP")
        # Done once the workers of the old configuration have left (they stop accepting
        # at once and finish what they hold).
        wait_until(lambda: not old & children(master), "the gateway reload", 30)

    def _restart_stopped(self, state: StackState) -> None:
        # Not one supervisord is starting again by itself (STARTING, BACKOFF).
        stopped = [p["name"] for p in self.processes() if p["state"] in _DOWN]
        if stopped:
            self.supervisor.start_programs(stopped)
            self.wait_redis(state)
            self._wait_brokers(state)

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
        wait_until(self.running, "supervisord", 20)
        self.wait_redis(state)
        wait_until(postgres.pg_ready(state.database_url), "PostgreSQL", 60)
        self._wait_brokers(state)
        postgres.ensure_database(state.database_url)
        migrate.upgrade(state.database_url)

    def wait_redis(self, state: StackState) -> None:
        """Every Redis node and sentinel answers and the topology is whole (roles, links)."""
        layout = (state.redis_mode, state.redis_data_ports, state.sentinel_ports)
        redis_ha.bring_up(*layout, hosts=state.redis_hosts)

    def _wait_brokers(self, state: StackState) -> None:
        """Every Kafka node answers and the cluster's metadata lists it."""
        if state.queue == "kafka":
            nodes = state.kafka_nodes(self.var)
            ready = kafka_cluster.brokers_ready(kafka.bootstrap(nodes), len(nodes))
            wait_until(ready, f"{len(nodes)} Apache Kafka broker(s)", 90)

    def _wait_ready(self, state: StackState) -> None:
        for url in state.app_urls:
            wait_until(http_ready(url), f"the app worker at {url}", 60)
        for sock in state.app_sockets:
            ready = http_ready("http://app", uds=sock)
            wait_until(ready, f"the app worker at {sock}", 60)
        wait_until(http_ready(state.url), "the gateway", 30)
        # The pipeline is ready once it can take a win to the database at once (its Kafka
        # group joined): a sale started right after `up` does not wait for it.
        for role in ("consumer", "relay"):
            if role in state.metrics_ports:
                url = f"http://127.0.0.1:{state.metrics_ports[role]}"
                wait_until(http_ready(url), f"the {role} (its /readyz)", 90)
        if state.prometheus_url:
            ready = http_ready(state.prometheus_url, path="/-/ready")
            wait_until(ready, "Prometheus", 30)
        wait_until(self._all_running, "every supervised process", 20)

    def _all_running(self) -> bool:
        return all(p["state"] == "RUNNING" for p in self.processes())

    def down(self) -> bool:
        """Stop everything `up` started, and remove the network namespaces it made (also
        those of a run that crashed); False when nothing was running or left."""
        if not self.running():
            return netns.remove(self.var)
        self.supervisor.shutdown()
        wait_until(lambda: not self.supervisor.socket.exists(), "supervisord shutdown", 30)
        netns.remove(self.var)
        return True


def _monitoring_ports(queue: str, prometheus: bool) -> dict[str, Any]:
    """Ports of the /metrics endpoints and of Prometheus; the exporters and Prometheus only
    when wanted and installed."""
    roles = ["app", "consumer", *(["relay"] if queue == "kafka" else [])]
    found = monitoring.available() if prometheus else {}
    roles += [name.removeprefix("prometheus-") for name in found if name != "prometheus"]
    return {
        "metrics_ports": {role: free_port() for role in roles},
        "prometheus_port": free_port() if "prometheus" in found else 0,
    }


def _port(configured: int, preferred: int) -> int:
    """The configured port if free, else the preferred one if free, else any free one."""
    for port in (configured, preferred):
        if port and port_is_free(port):
            return port
    return free_port()


def require_running(stack: Stack) -> StackState:
    state = stack.load_state()
    if state is None or not stack.running():
        raise StackError("the local stack is not running; start it with 'couponrush up'")
    return state
