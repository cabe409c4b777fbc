"""``top`` and ``app-metrics``: watching a running sale."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from couponrush.cli.app import app

_STOP = {signal.SIGTERM, signal.SIGINT}


@app.command("app-metrics")
def app_metrics(
    port: Annotated[int, typer.Option(help="Port to serve /metrics on")],
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
) -> None:
    """Serve the sum of every app worker's metrics (their files in PROMETHEUS_MULTIPROC_DIR)
    until SIGTERM: for workers behind Unix sockets, which Prometheus cannot scrape."""
    from couponrush.web.metrics import multiprocess_dir, serve_collected

    if not multiprocess_dir():
        typer.echo("error: PROMETHEUS_MULTIPROC_DIR is not set", err=True)
        raise typer.Exit(2)
    # Blocked before the server thread starts, so the signals reach sigwait below only.
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP)
    serve_collected(host, port)
    signal.sigwait(_STOP)
