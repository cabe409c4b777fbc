"""Shared pieces of the benchmarks: a stack of their own, wrk, the ceilings, results."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from couponrush.client import Client
from couponrush.settings import Settings
from couponrush.stack.local import Stack
from couponrush.stack.procs import children, free_port
from couponrush.stack.state import StackState

ROOT = Path(__file__).resolve().parent.parent
POST_LUA = ROOT / "bench" / "issue_path" / "post.lua"
# Limits raised so the benchmark measures the path, not the per-client protection.
BENCH_ENV = {
    "COUPONRUSH_CLIENT_RATE_PER_S": "1000000",
    "COUPONRUSH_CLIENT_BURST": "1000000",
    "COUPONRUSH_CONN_PER_CLIENT": "60000",
    "COUPONRUSH_WORKER_MAX_CONNS": "4096",
    "COUPONRUSH_WORKER_RATE_PER_S": "0",
}


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int


Options = Callable[[argparse.ArgumentParser], None]


def arguments(
    doc: str | None, workers: int | None = None, extra: Options | None = None
) -> argparse.Namespace:
    """``workers``: the default number of app workers (else one per core); ``extra`` adds a
    benchmark's own options."""
    parser = argparse.ArgumentParser(description=doc)
    if extra is not None:
        extra(parser)
    parser.add_argument("--seconds", type=int, default=10, help="per phase")
    parser.add_argument("--connections", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    default = workers or os.cpu_count() or 1
    parser.add_argument("--workers", type=int, default=default, help="app workers")
    parser.add_argument("--out", type=Path, help="JSON result path")
    return parser.parse_args()


def need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        sys.exit(f"{binary} is not installed: run 'make install' (Debian package {binary})")
    return path


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_wrk(text: str) -> WrkResult:
    pct = {
        p: _ms(v, u) for p, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    }
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    return WrkResult(
        rps,
        pct.get("50", 0.0),
        pct.get("90", 0.0),
        pct.get("99", 0.0),
        total,
        int(non2xx.group(1)) if non2xx else 0,
        sum(int(g) for g in errors.groups()) if errors else 0,
    )


def wrk(
    url: str,
    seconds: int,
    connections: int,
    threads: int,
    script: Path | None = POST_LUA,
    cpus: str | None = None,
) -> WrkResult:
    """``cpus``: a taskset list to keep wrk on (else anywhere)."""
    argv = [need("wrk"), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    argv = ["taskset", "-c", cpus, *argv] if cpus else argv
    argv += ["-s", str(script)] if script else []
    done = subprocess.run(
        [*argv, url], capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    return parse_wrk(done.stdout)


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of these processes and their children (a gateway's or a
    granian master's workers), from /proc."""
    total = 0
    for pid in {*pids, *(c for p in pids for c in children(p))}:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def pin(pids: list[int], cpus: set[int]) -> None:
    """Keep these processes, their children and all their threads on ``cpus``."""
    for pid in {*pids, *(c for p in pids for c in children(p))}:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(task.name), cpus)


@contextmanager
def bench_stack(workers: int | None, **env: str) -> Iterator[tuple[Stack, StackState]]:
    """A stack of the benchmark's own (its own folder and ports), stopped afterwards."""
    folder = tempfile.mkdtemp(prefix="couponrush-bench-")
    values = {
        **BENCH_ENV,
        **env,
        "COUPONRUSH_VAR_DIR": folder,
        "COUPONRUSH_GATEWAY_PORT": str(free_port()),
    }
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    stack = Stack(Settings())
    try:
        print(f"starting a benchmark stack in {folder} …", flush=True)
        # No Prometheus scraping the servers while they are measured.
        yield stack, stack.up(workers, prometheus=False)
    finally:
        stack.down()
        for key, old in saved.items():
            os.environ.pop(key, None) if old is None else os.environ.__setitem__(key, old)
        shutil.rmtree(folder, ignore_errors=True)


def create_event(url: str, token: str, event_id: str, stock: int) -> None:
    with Client(url, admin_token=token) as sdk:
        sdk.create_event(event_id, stock)


def sell_out(url: str, event_id: str, stock: int) -> None:
    with httpx.Client(base_url=url, timeout=10) as http:
        for i in range(stock + 5):
            http.post(f"/v1/events/{event_id}/issue", json={"user_id": f"seed-{i}"})


def write_result(name: str, doc: dict[str, Any], out: Path | None) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out or ROOT / "bench" / "results" / f"{name}-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": name,
        "when": stamp,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        **doc,
    }
    path.write_text(json.dumps(doc, indent=2, default=lambda o: asdict(o)))
    return path
