"""``top`` and ``app-metrics``: watching a running sale."""

from __future__ import annotations

import asyncio
import contextlib
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


@app.command()
def top(
    event_id: str,
    interval: Annotated[float, typer.Option(help="Seconds between refreshes")] = 1.0,
    duration: Annotated[float, typer.Option(help="Stop after this many seconds")] = 3600.0,
    once: Annotated[bool, typer.Option(help="Print one frame and stop")] = False,
    metrics: Annotated[
        list[str] | None,
        typer.Option(
            "--metrics", help="A /metrics URL to read (repeatable); default: the local stack's"
        ),
    ] = None,
) -> None:
    """A live view of one event: stock, answers per second by result, latency, the
    gateway's answers, Redis batches and the pipeline (from Redis and the metrics)."""
    from couponrush.cli.app import console
    from couponrush.cli.top import watch
    from couponrush.settings import Settings

    if interval <= 0 or duration <= 0:
        raise typer.BadParameter("interval and duration are positive")
    urls = metrics or _stack_metrics()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how one leaves it
        asyncio.run(watch(Settings(), event_id, urls, interval, duration, once, console))


def _stack_metrics() -> list[str]:
    from couponrush.cli.stack import running_state

    return list(running_state().metrics_urls.values())
