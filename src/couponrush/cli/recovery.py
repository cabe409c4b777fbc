"""``reconcile`` and ``restore``: Redis against the database, and back after a loss."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from couponrush.cli.app import AsJson, app, run, settings

if TYPE_CHECKING:
    from couponrush.core.reconcile import Report
    from couponrush.store.stats import ReconcileRecord


TOLD_HELP = (
    "A JSON list of wins clients were told ({user_id, slot, coupon_code}); each "
    "one Redis does not hold is reported as lost_acknowledged"
)


@app.command()
def reconcile(
    event_id: str,
    repair: Annotated[bool, typer.Option(help="Mend what can be mended safely")] = False,
    as_json: AsJson = False,
    metrics_file: Annotated[Path | None, typer.Option(help="Write metrics here")] = None,
    told: Annotated[Path | None, typer.Option(help=TOLD_HELP)] = None,
) -> None:
    """Redis winners and stock versus database rows (and the wins clients were told);
    exit 1 on any breach found.

    The outcome is kept in Redis, where the consumers' metrics (and alerts) read it."""
    from couponrush.core.reconcile import claims_from_json
    from couponrush.pipeline import recovery, wiring
    from couponrush.pipeline.metrics import PipelineMetrics

    found = settings()
    claims = claims_from_json(json.loads(told.read_text())) if told else []

    async def check() -> tuple[Report, ReconcileRecord]:
        async with wiring.stores(found) as st:
            signer = wiring.signer_for(found)
            moving = wiring.in_flight_for(found, st.redis)
            report = await recovery.reconcile(st.events, st.db, signer, event_id, claims, moving)
            if repair and not report.ok:
                await recovery.repair(st.redis, st.events, st.fence, report)
            return report, await recovery.record(st.redis, report)

    report, record = run(check())
    if metrics_file:
        metrics = PipelineMetrics("reconcile")
        metrics.events.show_reconciles([record], report.BREACH_KINDS)
        metrics.write(metrics_file)
    typer.echo(json.dumps(report.to_json(), indent=None if as_json else 2))
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def restore(
    event_id: str,
    force: Annotated[bool, typer.Option(help="Rebuild also while Redis holds the event")] = False,
) -> None:
    """Rebuild an event's Redis state after Redis lost it: from the database's rows, the
    wins still on their way (outbox, topic) and what Redis still holds; the counter
    resumes after the highest slot any of them holds."""
    from couponrush.pipeline import recovery, wiring

    found = settings()

    async def rebuild() -> recovery.RestoreReport:
        async with wiring.stores(found) as st:
            moving = wiring.in_flight_for(found, st.redis)
            return await recovery.restore(st.events, st.db, st.fence, event_id, force, moving)

    done = run(rebuild())
    r = done.restored
    typer.echo(
        f"restored {event_id}: {r.winners} winners ({done.from_database} from the "
        f"database, {done.in_flight} on their way, {r.kept_from_redis} only in Redis); "
        f"highest slot {r.highest_slot}, stock {r.stock}"
    )
    for conflict in r.conflicts:
        typer.echo(f"conflict: {conflict}", err=True)
