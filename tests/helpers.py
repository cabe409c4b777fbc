"""Small helpers shared by the integration tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from couponrush import procs
from couponrush.keys import decode_participant, event_keys


def create_event(http: httpx.Client, admin: dict[str, str], event_id: str, stock: int,
                 **extra: Any) -> httpx.Response:  # fmt: skip
    body = {"event_id": event_id, "name": f"Event {event_id}", "total_stock": stock, **extra}
    response = http.post("/v1/events", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response


async def redis_truth(redis: Redis, event_id: str) -> tuple[dict[str, int], int]:
    keys = event_keys(event_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hgetall(keys.participants)
        pipe.get(keys.stock)
        raw, stock = await pipe.execute()
    return {u: decode_participant(v)[0] for u, v in raw.items()}, int(stock or 0)


CLI = [sys.executable, "-m", "couponrush"]


@contextmanager
def local_stack_env(workers: int) -> Iterator[dict[str, str]]:
    """The environment of a whole local stack of its own (free gateway port, own state
    folder); whatever a test started in it is stopped afterwards. PostgreSQL runs as its
    own account when we are root, so the folder must be reachable by it (pytest's tmp
    root is owner-only)."""
    folder = Path(tempfile.mkdtemp(prefix="couponrush-stack-"))
    folder.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONRUSH_")}
    env.update(
        COUPONRUSH_VAR_DIR=str(folder / "var"),
        COUPONRUSH_GATEWAY_PORT=str(procs.free_port()),
        COUPONRUSH_WORKERS=str(workers),
    )
    try:
        yield env
    finally:
        subprocess.run([*CLI, "down"], env=env, capture_output=True, timeout=60, check=False)
        shutil.rmtree(folder, ignore_errors=True)
