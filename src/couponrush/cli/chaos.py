"""``chaos``: faults injected mid-burst into local stacks of its own, then a set check."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from couponrush.cli.app import app, console
from couponrush.settings import Settings

Names = Annotated[list[str] | None, typer.Option("--scenario", help="Run only these (repeat)")]


@app.command()
def chaos(
    scenario: Names = None,
    short: Annotated[bool, typer.Option(help="Small bursts and 2-s outages (the test form)")] = (
        False
    ),
    out: Annotated[Path | None, typer.Option(help="Folder for chaos.md and chaos.json")] = None,
    docs: Annotated[Path | None, typer.Option(help="Also put the table in this page")] = None,
    keep: Annotated[
        bool,
        typer.Option(
            help="Keep every stack's folder (logs, data); a failed scenario's is kept anyway"
        ),
    ] = False,
    list_: Annotated[bool, typer.Option("--list", help="List the scenarios and stop")] = False,
) -> None:
    """Inject one fault mid-burst per scenario (kills, outages, a Redis restart or failover,
    a gateway reload; partitions and slow links between Redis nodes in network namespaces),
    each in a local stack of its own and bounded in time; then check that every client told
    'issued' has its row and its win in Redis, no row belongs to a client told otherwise, no
    slot is taken twice and at most N are issued. Exit 1 on any breach."""
    from couponrush.rush.chaos import runner, table
    from couponrush.rush.chaos import scenario as sizes
    from couponrush.rush.chaos.faults import FAULTS

    if list_:
        for fault in FAULTS:
            stack = f"{fault.queue}, {fault.redis}{', netns (root)' if fault.netns else ''}"
            console.print(f"{fault.name:<25} {fault.what} [dim]({stack})[/]")
        return
    chosen = [f for f in FAULTS if not scenario or f.name in scenario]
    unknown = set(scenario or ()) - {f.name for f in FAULTS}
    if unknown or not chosen:
        raise typer.BadParameter(f"unknown scenarios {sorted(unknown)}; see --list")
    settings = Settings()
    # A stopped run (SIGTERM as well as Ctrl-C) still stops and removes its stacks.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    outcomes = runner.run(chosen, sizes.SHORT if short else sizes.FULL, settings, console, keep)
    folder = out or settings.var_dir / "chaos" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    md, js = table.write(outcomes, short, folder)
    console.print(table.markdown(outcomes))
    console.print(f"table: {md}  json: {js}")
    if docs is not None:
        table.into_docs(outcomes, docs, _note(short))
    if not all(o.passed for o in outcomes):
        raise typer.Exit(1)


def _note(short: bool) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    form = "couponrush chaos --short" if short else "couponrush chaos"
    return f"Latest run: `{form}`, {when}."
