"""The local stack's monitoring: the app workers' summed metrics on a loopback port,
Debian's Redis and PostgreSQL exporters, and a Prometheus that scrapes every process and
evaluates the project's alert rules (deploy/prometheus/alerts.yml)."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from couponrush.stack.commands import CLI
from couponrush.stack.state import StackState
from couponrush.stack.supervisor import Program

# Short, for a flash sale that is over in seconds; local and cheap.
SCRAPE_INTERVAL = "2s"
# Debian's binaries: command -> package (Makefile SYSTEM_PACKAGES installs them).
BINARIES = {
    "prometheus": "prometheus",
    "prometheus-redis-exporter": "prometheus-redis-exporter",
    "prometheus-postgres-exporter": "prometheus-postgres-exporter",
}


def available() -> dict[str, str]:
    """The monitoring binaries that are installed, by command."""
    found = {name: shutil.which(name) for name in BINARIES}
    return {name: path for name, path in found.items() if path}


def app_metrics(state: StackState, shared: dict[str, str]) -> Program:
    """Every app worker's metrics (the files ``shared`` names, the workers' environment),
    summed, on a port: the workers listen on Unix sockets, which Prometheus cannot scrape."""
    port = state.metrics_ports["app"]
    return Program([*CLI, "app-metrics", "--port", str(port)], autostart=False, env=shared)


def programs(state: StackState, var: Path) -> dict[str, Program]:
    """The exporters and Prometheus, for the ports `up` chose (none when it chose none)."""
    bins, ports = available(), state.metrics_ports
    found: dict[str, Program] = {}
    if "redis-exporter" in ports:
        found["redis-exporter"] = Program(
            [
                bins["prometheus-redis-exporter"],
                f"-redis.addr={state.redis_url}",
                f"-web.listen-address=127.0.0.1:{ports['redis-exporter']}",
                "-include-system-metrics",
                "-log-format=json",
            ],
            autostart=False,
        )
    if "postgres-exporter" in ports:
        dsn = f"{state.database_url}?sslmode=disable"
        found["postgres-exporter"] = Program(
            [
                bins["prometheus-postgres-exporter"],
                f"--web.listen-address=127.0.0.1:{ports['postgres-exporter']}",
                "--log.format=json",
            ],
            autostart=False,
            env={"DATA_SOURCE_NAME": dsn},
        )
    if state.prometheus_port:
        conf = write_config(state, var / "prometheus")
        found["prometheus"] = Program(
            [
                bins["prometheus"],
                f"--config.file={conf}",
                f"--storage.tsdb.path={var / 'prometheus' / 'data'}",
                f"--web.listen-address=127.0.0.1:{state.prometheus_port}",
                "--storage.tsdb.retention.time=2d",
                "--log.format=json",
            ],
            autostart=False,
        )
    return found


def _job(name: str, target: str, path: str = "/metrics") -> dict[str, Any]:
    return {"job_name": name, "metrics_path": path, "static_configs": [{"targets": [target]}]}


def scrape_jobs(state: StackState) -> list[dict[str, Any]]:
    """Job names as in deploy/prometheus/prometheus.yml, so the rules and the dashboard
    read the same series in every deployment; and the gateway's, which compose lacks."""
    names = {
        "app": "couponrush-app",
        "consumer": "couponrush-consumer",
        "relay": "couponrush-relay",
        "redis-exporter": "redis",
        "postgres-exporter": "postgres",
    }
    jobs = [_job(names[k], f"127.0.0.1:{port}") for k, port in state.metrics_ports.items()]
    gateway = state.url.removeprefix("http://")
    jobs.append(_job("couponrush-gateway", gateway, "/gateway/metrics"))
    jobs.append(_job("prometheus", f"127.0.0.1:{state.prometheus_port}"))
    return jobs


def write_config(state: StackState, folder: Path) -> Path:
    """prometheus.yml (JSON is YAML) and a copy of the alert rules beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    rules = folder / "alerts.yml"
    text = resources.files("couponrush.stack").joinpath("alerts.yml").read_text("utf-8")
    rules.write_text(text)
    every = SCRAPE_INTERVAL
    config = {
        "global": {"scrape_interval": every, "evaluation_interval": every, "scrape_timeout": every},
        "rule_files": [str(rules)],
        "scrape_configs": scrape_jobs(state),
    }
    path = folder / "prometheus.yml"
    path.write_text(json.dumps(config, indent=2))
    return path
