"""Commands of the persistence pipeline (``python -m couponrush.cli_pipeline``).

Exit codes: 0 fine, 1 breaches found or an operation refused, 2 unusable settings.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from couponrush import logs
from couponrush.codes import CodeSigner
from couponrush.db import migrate
from couponrush.errors import CouponrushError
from couponrush.pipeline import recovery, replay, runner
from couponrush.pipeline.dlq import DeadLetters
from couponrush.pipeline.metrics import PipelineMetrics
from couponrush.settings import Settings

T = TypeVar("T")
_MIN_SECRET = 16
pipeline_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="The persistence pipeline: database, consumer, relay, checks.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
dlq_app = typer.Typer(no_args_is_help=True, help="Inspect and replay dead letters.")
pipeline_app.add_typer(db_app, name="db")
pipeline_app.add_typer(dlq_app, name="dlq")

AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output")]
MetricsPort = Annotated[int, typer.Option(help="Serve /metrics on this loopback port (0 = off)")]


def _settings() -> Settings:
    settings = Settings()
    logs.configure(settings.log_level)
    return settings


def _run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    try:
        return asyncio.run(main())
    except CouponrushError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def _with_stores(settings: Settings, op: Callable[[Any, Any], Awaitable[T]]) -> T:
    async def main() -> T:
        async with runner.stores(settings) as (redis, pool):
            return await op(redis, pool)

    return _run(main())


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the schema migrations (idempotent)."""
    migrate.upgrade(_settings().database_url, revision)


@pipeline_app.command()
def consume(metrics_port: MetricsPort = 0) -> None:
    """Write queued wins to PostgreSQL (source: COUPONRUSH_QUEUE = stream or kafka)."""
    settings, metrics = _settings(), PipelineMetrics()
    if len(settings.coupon_secret.get_secret_value()) < _MIN_SECRET:
        # Codes signed with another secret would contradict what the clients were told.
        typer.echo("error: COUPONRUSH_COUPON_SECRET must be the app workers' secret", err=True)
        raise typer.Exit(2)
    metrics.serve(metrics_port)
    _run(runner.consume(settings, metrics))


@pipeline_app.command()
def relay(metrics_port: MetricsPort = 0) -> None:
    """Kafka mode: move the outbox streams to the Kafka topic."""
    settings, metrics = _settings(), PipelineMetrics()
    if settings.queue != "kafka" or not settings.kafka_bootstrap:
        typer.echo("error: the relay needs COUPONRUSH_QUEUE=kafka and KAFKA_BOOTSTRAP", err=True)
        raise typer.Exit(2)
    metrics.serve(metrics_port)
    _run(runner.relay(settings, metrics))


@dlq_app.command("list")
def dlq_list(count: int = 100, as_json: AsJson = False) -> None:
    """The oldest dead letters first."""
    settings = _settings()
    letters = _run(replay.with_redis(settings, lambda r: DeadLetters(r).list(count)))
    if as_json:
        typer.echo(json.dumps([d.to_json() for d in letters]))
        return
    for d in letters:
        typer.echo(f"{d.id}  {d.kind:<13} {d.event_id}  {d.reason}")


@dlq_app.command("show")
def dlq_show(entry_id: str) -> None:
    """One dead letter with its payload."""
    letter = _run(replay.with_redis(_settings(), lambda r: DeadLetters(r).get(entry_id)))
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
    settings = _settings()
    signer = CodeSigner(settings.coupon_secret.get_secret_value().encode())
    fixes = replay.parse_fixes(set_ or [])
    outcomes = _with_stores(settings, lambda redis, pool: replay.replay(
        redis, pool, signer, entry_ids or [], fixes))  # fmt: skip
    for outcome in outcomes:
        typer.echo(f"{outcome.id}  {'written' if outcome.ok else 'failed'}  {outcome.detail}")
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


@pipeline_app.command()
def reconcile(
    event_id: str,
    repair: Annotated[bool, typer.Option(help="Mend what can be mended safely")] = False,
    as_json: AsJson = False,
    metrics_file: Annotated[Path | None, typer.Option(help="Write metrics here")] = None,
) -> None:
    """Redis winners and stock versus database rows; exit 1 on any breach found."""
    settings = _settings()
    signer = CodeSigner(settings.coupon_secret.get_secret_value().encode())

    async def check(redis: Any, pool: Any) -> recovery.Report:
        report = await recovery.reconcile(redis, pool, signer, event_id)
        if repair and not report.ok:
            await recovery.repair(redis, report)
        return report

    report = _with_stores(settings, check)
    metrics = PipelineMetrics()
    for kind, count in report.breaches().items():
        metrics.breaches.labels(kind).inc(count)
    if metrics_file:
        metrics.write(metrics_file)
    typer.echo(json.dumps(report.to_json(), indent=None if as_json else 2))
    if not report.ok:
        raise typer.Exit(1)


@pipeline_app.command()
def restore(
    event_id: str,
    force: Annotated[bool, typer.Option(help="Overwrite state Redis still holds")] = False,
) -> None:
    """Rebuild an event's Redis state from the database (after Redis lost it)."""
    count = _with_stores(_settings(), lambda redis, pool: recovery.restore(
        redis, pool, event_id, force))  # fmt: skip
    typer.echo(f"restored {event_id}: {count} winners")


if __name__ == "__main__":
    pipeline_app()
