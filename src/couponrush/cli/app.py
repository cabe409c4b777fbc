"""The Typer apps every command module registers on, and what those modules share.

Heavy imports (the stack, the pipeline, the load harness and its plots) happen inside
the commands that use them, so a pipeline process loads only what it runs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from couponrush import logs
from couponrush.core.errors import CouponrushError
from couponrush.settings import Settings

T = TypeVar("T")

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="First-come-first-served coupon issuance for flash events.",
)
event_app = typer.Typer(
    no_args_is_help=True, help="Create, list, change, close, archive and export events."
)
coupons_app = typer.Typer(no_args_is_help=True, help="Verify, redeem and revoke coupons.")
tokens_app = typer.Typer(no_args_is_help=True, help="Scoped API tokens (in the database).")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
dlq_app = typer.Typer(no_args_is_help=True, help="Inspect and replay dead letters.")
app.add_typer(event_app, name="events")
# The singular name of earlier versions, for scripts that use it.
app.add_typer(event_app, name="event", hidden=True)
app.add_typer(coupons_app, name="coupons")
app.add_typer(tokens_app, name="tokens")
app.add_typer(db_app, name="db")
app.add_typer(dlq_app, name="dlq")
console = Console()

AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output")]
Workers = Annotated[
    int | None, typer.Option(help="App worker processes (default: cores - 1, at least 1)")
]


def print_json(body: Any) -> None:
    console.print_json(json.dumps(body))


def settings() -> Settings:
    """The settings of a pipeline or store command, with its logging configured."""
    found = Settings()
    logs.configure(found.log_level)
    return found


def run(coro: Awaitable[T]) -> T:
    """Run one command's coroutine; an error the package raised on purpose exits 1."""

    async def main() -> T:
        return await coro

    try:
        return asyncio.run(main())
    except CouponrushError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
