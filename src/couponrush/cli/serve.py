"""``serve``: the app worker processes (granian), as containers and the stack run them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from couponrush.cli.app import app
from couponrush.settings import Settings


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default COUPONRUSH_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default COUPONRUSH_PORT)")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default COUPONRUSH_WORKERS)")
    ] = None,
    uds: Annotated[Path | None, typer.Option(help="Listen on this Unix socket instead")] = None,
) -> None:
    """Serve the HTTP API: granian runs the app (RSGI), settings from the environment.

    The process becomes granian (exec), so signals and exit codes are granian's own."""
    from couponrush.stack.commands import app_argv
    from couponrush.stack.procs import clear_stale_socket

    settings = Settings()
    settings.check_secrets()  # fail here, once, rather than in every worker
    if uds is not None:
        clear_stale_socket(uds)  # left by a worker that was killed: it would block the bind
    argv = app_argv(
        host or settings.host, port or settings.port, workers or settings.workers, uds=uds
    )
    os.execv(argv[0], argv)  # noqa: S606 (argv is ours, not user input)
