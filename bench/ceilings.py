"""The ceilings measured in the same run: nginx serving a static 200, Redis alone."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.common import WrkResult, need, wrk
from couponrush.stack.commands import nginx_argv
from couponrush.stack.procs import free_port, spawn, stop
from couponrush.stack.ready import wait_until
from couponrush.store.keys import bucket_key, event_keys
from couponrush.store.scripts import load

NGINX_STATIC = """
worker_processes auto;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
    uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    default_type {content_type};
    server {{ listen 127.0.0.1:{port}; location / {{ return {status} '{body}'; }} }}
}}
"""


@contextmanager
def static_nginx(
    status: int, body: str, content_type: str = "text/plain", own_session: bool = False
) -> Iterator[tuple[str, int]]:
    """nginx answering every request with ``status`` and ``body``: its base URL and pid.

    ``own_session``: as a stack's servers run (under supervisord), for the benchmarks
    that measure one; else in the benchmark's session, beside wrk (see bench/README.md)."""
    with tempfile.TemporaryDirectory(prefix="couponrush-ceiling-") as folder:
        port = free_port()
        conf = Path(folder) / "nginx.conf"
        conf.write_text(
            NGINX_STATIC.format(
                d=folder, port=port, status=status, body=body, content_type=content_type
            )
        )
        server = spawn(nginx_argv(conf), Path(folder) / "stdout.log", new_session=own_session)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: httpx.get(url, timeout=1).status_code == status, "nginx", 10)
            yield url, server.pid
        finally:
            stop(server, timeout_s=10)


def nginx_static(
    seconds: int, connections: int, threads: int, own_session: bool = False
) -> WrkResult:
    with static_nginx(200, "ok", own_session=own_session) as (url, _):
        return wrk(f"{url}/", seconds, connections, threads, script=None)


def redis_issue(redis_port: int, event_id: str, pipeline: int) -> float:
    """issue.lua at Redis alone: requests per second, one per round trip or pipelined."""
    script = load("issue")
    subprocess.run(
        [need("redis-cli"), "-p", str(redis_port), "SCRIPT", "LOAD", script.source],
        check=True,
        capture_output=True,
    )
    keys = [*event_keys(event_id).issue_keys, bucket_key(event_id, "x")]
    argv = [
        need("redis-benchmark"),
        "-p",
        str(redis_port),
        "-n",
        "200000",
        "-c",
        "50",
        "-r",
        "100000000",
        "-P",
        str(pipeline),
        "--csv",
        "EVALSHA",
        script.sha,
        str(len(keys)),
        *keys,
        "0",
        "1",
        "all",
        "user:__rand_int__",
        "req",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True)
    last = [line for line in done.stdout.splitlines() if line.strip()][-1]
    return float(last.split(",")[1].strip('"'))
