"""Small helpers shared by the integration tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

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


@contextmanager
def stack_folder() -> Iterator[Path]:
    """A state folder for a whole local stack. PostgreSQL runs as its own account when we
    are root, so the folder must be reachable by it (pytest's tmp root is owner-only)."""
    folder = Path(tempfile.mkdtemp(prefix="couponrush-stack-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
