"""``couponrush queue verify E``: recompute a shuffled opening's order from what the event
published (docs/fair-opening.md), as anyone can: the seed against the commitment, the
pre-queue's tickets sorted by HMAC-SHA256(seed, ticket) against the order served.

It reads the public order document (GET /v1/events/{E}/queue/order, no token) from
``--url``, or a saved copy of it (``--file``), so a check needs nothing of the server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from couponrush.cli.app import AsJson, app, console, print_json
from couponrush.cli.events import Url, refused
from couponrush.cli.stack import running_state
from couponrush.client import ApiError, Client
from couponrush.core.queue import Verdict, ticket, verify
from couponrush.web.queue_schemas import QueueOrder

queue_app = typer.Typer(no_args_is_help=True, help="A shuffled opening's queue.")
app.add_typer(queue_app, name="queue")


def _order(event_id: str, url: str | None, file: Path | None) -> QueueOrder:
    if file is not None:
        return QueueOrder.model_validate_json(file.read_bytes())
    with Client(url or running_state().url) as client:
        try:
            return client.queue_order(event_id)
        except ApiError as exc:
            raise refused(exc) from exc


def _report(order: QueueOrder, verdict: Verdict, user: str | None) -> dict[str, object]:
    return {
        "event_id": order.event_id,
        "ok": verdict.ok,
        "commitment_ok": verdict.commitment_ok,
        "order_ok": verdict.order_ok,
        "prequeue": verdict.prequeue,
        "late": verdict.late,
        "first_difference": verdict.first_difference,
        "commitment": order.commitment,
        "seed": order.seed,
        **({"user_id": user, "position": verdict.position} if user else {}),
    }


@queue_app.command("verify")
def queue_verify(
    event_id: str,
    user: Annotated[
        str | None, typer.Option(help="Also show this user's place (by its ticket)")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="A saved order document, not the URL's"),
    ] = None,
    save: Annotated[
        Path | None, typer.Option(help="Write the order document read, for a later check")
    ] = None,
    as_json: AsJson = False,
    url: Url = None,
) -> None:
    """Check a shuffled opening's order from its revealed seed; exit 1 when it differs."""
    order = _order(event_id, url, file)
    if save is not None:
        save.write_text(json.dumps(order.model_dump(mode="json")))
    own = ticket(order.event_id, user) if user else None
    verdict = verify(order.commitment, order.seed, order.prequeue, order.late, own)
    report = _report(order, verdict, user)
    if as_json:
        print_json(report)
    else:
        _print(report)
    if not verdict.ok:
        raise typer.Exit(1)


def _print(report: dict[str, object]) -> None:
    mark = "[green]verified[/]" if report["ok"] else "[red]NOT verified[/]"
    console.print(f"{report['event_id']}: {mark}")
    console.print(f"  seed matches the commitment: {report['commitment_ok']}")
    console.print(
        f"  pre-queue of {report['prequeue']} in the seed's order: {report['order_ok']}"
        + (f" (first difference at {report['first_difference']})" if not report["order_ok"] else "")
    )
    console.print(f"  joined after the opening, at the end: {report['late']}")
    if "user_id" in report:
        console.print(f"  {report['user_id']}: position {report['position'] or 'not in the queue'}")
