"""``tokens create|list|revoke``: scoped API tokens, straight in the database (as an
operator with the database's credentials, also before any token exists)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from couponrush.cli.app import AsJson, console, print_json, run, settings, tokens_app
from couponrush.core.tokens import SCOPES

if TYPE_CHECKING:
    from couponrush.db.access import Tokens

T = TypeVar("T")


async def _on_tokens(op: Callable[[Tokens], Awaitable[T]]) -> T:
    from couponrush.db.access import Tokens
    from couponrush.db.repository import Repository

    found = settings()
    db = await Repository.connect(
        found.database_url, max_size=1, connect_args=found.database_connect_args()
    )
    try:
        return await op(Tokens(db.pool))
    finally:
        await db.close()


@tokens_app.command("create")
def create(
    scope: Annotated[str, typer.Option(help=f"One of {', '.join(SCOPES)}")],
    name: Annotated[str | None, typer.Option(help="Who or what holds it")] = None,
) -> None:
    """Make a token and print it, and only it, on stdout: once (only its hash is kept)."""
    if scope not in SCOPES:
        raise typer.BadParameter(f"--scope is one of {', '.join(SCOPES)}")
    label = name or f"{scope} token"
    token_id, token = run(_on_tokens(lambda t: t.create(label, scope)))
    typer.echo(token)
    typer.echo(f"token {token_id} ({scope}, {label!r}) created; it is not shown again", err=True)


@tokens_app.command("list")
def list_tokens(as_json: AsJson = False) -> None:
    """Every token: id, name, scope, created, revoked (never the token itself)."""
    rows = run(_on_tokens(lambda t: t.list()))
    body = [
        {
            "id": r.id,
            "name": r.name,
            "scope": r.scope,
            "created_at": r.created_at.isoformat(),
            "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
        }
        for r in rows
    ]
    if as_json:
        print_json(body)
        return
    for r in body:
        state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "live"
        console.print(f"{r['id']:>5}  {r['scope']:<9} {r['name']}  ({state})")


@tokens_app.command("revoke")
def revoke(token_id: int) -> None:
    """Revoke a token at once (every app worker reads the table on each request)."""
    if not run(_on_tokens(lambda t: t.revoke(token_id))):
        typer.echo(f"error: no live token {token_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"token {token_id} revoked")
