"""``dlq list``, ``dlq show``, ``dlq replay``: the dead letters."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from couponrush.cli.app import AsJson, dlq_app, run, settings

if TYPE_CHECKING:
    from couponrush.store.dead_letters import DeadLetters

T = TypeVar("T")


async def _on_letters(op: Callable[[DeadLetters], Awaitable[T]]) -> T:
    from couponrush.pipeline.wiring import redis_for
    from couponrush.store.dead_letters import DeadLetters

    redis = redis_for(settings())
    try:
        return await op(DeadLetters(redis))
    finally:
        await redis.aclose()


@dlq_app.command("list")
def dlq_list(count: int = 100, as_json: AsJson = False) -> None:
    """The oldest dead letters first."""
    letters = run(_on_letters(lambda d: d.list(count)))
    if as_json:
        typer.echo(json.dumps([d.to_json() for d in letters]))
        return
    for d in letters:
        typer.echo(f"{d.id}  {d.kind:<13} {d.event_id}  {d.reason}")


@dlq_app.command("show")
def dlq_show(entry_id: str) -> None:
    """One dead letter with its payload."""
    letter = run(_on_letters(lambda d: d.get(entry_id)))
    if letter is None:
        typer.echo(f"no dead letter {entry_id}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(letter.to_json(), indent=2))


@dlq_app.command("replay")
def dlq_replay(
    entry_ids: Annotated[list[str] | None, typer.Argument(help="Entries (default: all)")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="field=value fix")] = None,
) -> None:
    """Write dead letters to the database again; each one written leaves the DLQ."""
    from couponrush.pipeline import replay, wiring

    found = settings()
    fixes = replay.parse_fixes(set_ or [])

    async def main() -> list[replay.Outcome]:
        async with wiring.stores(found) as st:
            replayer = replay.Replayer(st.letters, st.events, st.db, wiring.signer_for(found))
            return await replayer.replay(entry_ids or [], fixes)

    outcomes = run(main())
    for outcome in outcomes:
        typer.echo(f"{outcome.id}  {'written' if outcome.ok else 'failed'}  {outcome.detail}")
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)
