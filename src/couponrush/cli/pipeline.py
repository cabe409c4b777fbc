"""``db upgrade``, ``consume`` and ``relay``: the schema and the pipeline's processes."""

from __future__ import annotations

from typing import Annotated

import typer

from couponrush.cli.app import app, db_app, run, settings

MetricsPort = Annotated[
    int,
    typer.Option(
        help="Serve /metrics and /readyz on this port of COUPONRUSH_METRICS_HOST (0 = off)"
    ),
]


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the schema migrations (idempotent)."""
    from couponrush.db import migrate

    found = settings()
    migrate.upgrade(found.database_url, revision, found.database_connect_args())


@app.command()
def consume(metrics_port: MetricsPort = 0) -> None:
    """Write queued wins to PostgreSQL (source: COUPONRUSH_QUEUE = stream or kafka)."""
    from couponrush.pipeline import wiring
    from couponrush.pipeline.metrics import PipelineMetrics

    found, metrics = settings(), PipelineMetrics()
    # Codes signed with another secret would contradict what the clients were told.
    found.check_secrets("coupon_secret")
    metrics.serve(metrics_port, found.metrics_host)
    run(wiring.consume(found, metrics))


@app.command()
def relay(metrics_port: MetricsPort = 0) -> None:
    """Kafka mode: move the outbox streams to the Kafka topic."""
    from couponrush.pipeline import wiring
    from couponrush.pipeline.metrics import PipelineMetrics

    found, metrics = settings(), PipelineMetrics("relay")
    if found.queue != "kafka" or not found.kafka_bootstrap:
        typer.echo("error: the relay needs COUPONRUSH_QUEUE=kafka and KAFKA_BOOTSTRAP", err=True)
        raise typer.Exit(2)
    metrics.serve(metrics_port, found.metrics_host)
    run(wiring.relay(found, metrics))
