"""Helpers of the season's tests: scoped tokens made by the command line, wins written to
the database as the consumer writes them, and calls with a token."""

from __future__ import annotations

import os
from typing import Any

import httpx

from couponrush.core.codes import CodeSigner
from couponrush.core.event import Event
from couponrush.core.tokens import Scope
from couponrush.core.win import Win
from couponrush.db.access import Tokens
from couponrush.db.repository import Repository
from tests.fixtures.app import AppServer
from tests.fixtures.postgres import PgServer
from tests.helpers import run_cli


def cli_env(pg: PgServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONRUSH_")}
    env["COUPONRUSH_DATABASE_URL"] = pg.url
    return env


def cli_token(pg: PgServer, scope: str, name: str | None = None) -> str:
    """``couponrush tokens create``: its stdout is the token and nothing else."""
    args = ["tokens", "create", "--scope", scope, *(["--name", name] if name else [])]
    done = run_cli(args, cli_env(pg), check=True)
    token = done.stdout.strip()
    assert done.stdout == token + "\n", done.stdout
    assert token.startswith("crt_")
    return token


async def make_token(pg: PgServer, scope: Scope, name: str = "test token") -> str:
    """A token as ``tokens create`` makes it, without a process of its own."""
    repo = await Repository.connect(pg.url, max_size=1)
    try:
        return (await Tokens(repo.pool).create(name, scope))[1]
    finally:
        await repo.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call(
    app: AppServer, method: str, path: str, token: str | None = None, **kwargs: Any
) -> httpx.Response:
    headers = {**(bearer(token) if token else {}), **kwargs.pop("headers", {})}
    return httpx.request(method, app.url + path, headers=headers, timeout=30, **kwargs)


async def persisted(
    pg: PgServer, app: AppServer, event_id: str, users: list[str]
) -> dict[str, str]:
    """Issue a coupon to each of ``users`` over HTTP, and write their rows as the consumer
    does (no consumer runs here); each user's coupon code."""
    signer = CodeSigner(app.coupon_secret.encode())
    wins = []
    async with httpx.AsyncClient(base_url=app.url, timeout=10) as http:
        for user in users:
            sent = await http.post(f"/v1/events/{event_id}/issue", json={"user_id": user})
            wins.append(Win(event_id, user, sent.json()["slot"], 1_700_000_000_000, f"r-{user}"))
    repo = await Repository.connect(pg.url)
    try:
        await repo.ensure_events([Event(event_id, event_id, len(users), None, None)])
        await repo.insert_wins(wins, [signer.code(event_id, w.slot, w.user_id) for w in wins])
    finally:
        await repo.close()
    return {w.user_id: signer.code(event_id, w.slot, w.user_id) for w in wins}
