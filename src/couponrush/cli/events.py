"""``events create``, ``events show`` and ``issue``: the HTTP API through the SDK."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from couponrush.cli.app import AsJson, app, console, event_app, print_json
from couponrush.cli.stack import running_state
from couponrush.client import ApiError, Client, IssueOutcome

Url = Annotated[str | None, typer.Option(help="Gateway URL (default: the local stack's)")]


def when(text: str | None, name: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError as exc:
        raise typer.BadParameter(f"{name} must be an RFC 3339 time") from exc


def refused(exc: ApiError) -> typer.Exit:
    """Print the API's problem and exit 1."""
    body = exc.problem.model_dump() if exc.problem else {"result": exc.result, "detail": str(exc)}
    print_json(body)
    return typer.Exit(1)


@event_app.command("create")
def event_create(
    event_id: str,
    stock: Annotated[int, typer.Option(help="Total coupons")],
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    starts_at: Annotated[str | None, typer.Option(help="RFC 3339; default now")] = None,
    ends_at: Annotated[str | None, typer.Option(help="RFC 3339; default never")] = None,
    opening: Annotated[
        str, typer.Option(help='"fifo" or "shuffled": a pre-queue (docs/fair-opening.md)')
    ] = "fifo",
    prequeue_opens_at: Annotated[
        str | None, typer.Option(help="shuffled: RFC 3339; default at once")
    ] = None,
    admit_per_wave: Annotated[int | None, typer.Option(help="shuffled: places a wave")] = None,
    admit_every_s: Annotated[float | None, typer.Option(help="shuffled: wave interval")] = None,
    proof_bits: Annotated[int, typer.Option(help="shuffled: a join's proof of work")] = 0,
) -> None:
    """Create an event on the running stack."""
    state = running_state()
    opens, closes = when(starts_at, "--starts-at"), when(ends_at, "--ends-at")
    queue = {
        "opening": opening,
        "prequeue_opens_at": when(prequeue_opens_at, "--prequeue-opens-at"),
        "admit_per_wave": admit_per_wave,
        "admit_every_s": admit_every_s,
        "proof_bits": proof_bits,
    }
    with Client(state.url, admin_token=state.admin_token) as sdk:
        try:
            created = sdk.create_event(
                event_id, stock, name=name, starts_at=opens, ends_at=closes, **queue
            )
        except ApiError as exc:
            raise refused(exc) from exc
    print_json(created.model_dump(mode="json"))


@event_app.command("show")
def event_show(event_id: str, url: Url = None) -> None:
    """Stock left, issued count and status of an event."""
    with Client(url or running_state().url) as sdk:
        try:
            print_json(sdk.get_event(event_id).model_dump(mode="json"))
        except ApiError as exc:
            raise refused(exc) from exc


@app.command()
def issue(
    event_id: str,
    user_id: str,
    as_json: AsJson = False,
    url: Url = None,
    request_id: Annotated[str | None, typer.Option(help="X-Request-ID of every try")] = None,
    queue: Annotated[
        bool, typer.Option("--queue", help="Join a shuffled opening's queue and wait first")
    ] = False,
) -> None:
    """Claim a coupon, waiting out 429/503 as Retry-After asks; print the final outcome
    (exit 0 only for a coupon)."""
    with Client(url or running_state().url) as sdk:
        try:
            if queue:
                outcome = sdk.queue_and_issue(event_id, user_id)
            else:
                outcome = sdk.issue(event_id, user_id, request_id=request_id)
        except ApiError as exc:
            raise refused(exc) from exc
    if as_json:
        typer.echo(json.dumps(outcome.as_dict()))
    else:
        console.print(describe(outcome))
    if not outcome.won:
        raise typer.Exit(1)


def describe(outcome: IssueOutcome) -> str:
    """One line for a person: the answer, then the retries it took."""
    coupon, retries = outcome.coupon, len(outcome.attempts) - 1
    if coupon is not None:
        again = " (the same coupon as before)" if coupon.result == "already_issued" else ""
        line = f"{coupon.result}: coupon {coupon.coupon_code}, slot {coupon.slot}{again}"
    elif outcome.final:
        line = f"{outcome.result}: {outcome.problem.detail if outcome.problem else ''}"
    else:
        line = f"gave up: {outcome.result} after {len(outcome.attempts)} tries"
    if retries:
        waited = sum(a.wait_s for a in outcome.attempts)
        tries = "1 retry" if retries == 1 else f"{retries} retries"
        line += f" [{tries}, {waited:.1f} s waited as the server asked]"
    return f"{line}  (request id {outcome.request_id})"
