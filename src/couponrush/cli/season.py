"""A season's commands through the HTTP API (the SDK): ``events list|close|extend|top-up|
archive|export``, ``coupons verify|redeem|revoke`` and ``audit``.

They speak to ``--url`` with ``--token`` (or COUPONRUSH_API_TOKEN); by default to the
local stack with its bootstrap admin token.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.table import Table

from couponrush.cli.app import AsJson, app, console, coupons_app, event_app, print_json
from couponrush.cli.events import Url, refused, when
from couponrush.cli.stack import running_state
from couponrush.client import ApiError, Client
from couponrush.core.event import EVENT_STATUSES

T = TypeVar("T")
Token = Annotated[
    str | None,
    typer.Option(
        envvar="COUPONRUSH_API_TOKEN",
        show_envvar=True,
        help="API token (default: the local stack's admin token)",
    ),
]
Status = Annotated[
    list[str] | None,
    typer.Option("--status", help=f"Only these ({', '.join(EVENT_STATUSES)}); repeatable"),
]


@contextmanager
def sdk(url: str | None, token: str | None) -> Iterator[Client]:
    """The SDK at ``url`` with ``token``, the local stack's where not given; an API refusal
    prints its problem and exits 1."""
    if url is None or token is None:
        state = running_state()
        url, token = url or state.url, token or state.admin_token
    with Client(url, admin_token=token) as client:
        try:
            yield client
        except ApiError as exc:
            raise refused(exc) from exc


def _show(answer: BaseModel) -> None:
    print_json(answer.model_dump(mode="json"))


def _call(url: str | None, token: str | None, op: Callable[[Client], BaseModel]) -> None:
    with sdk(url, token) as client:
        _show(op(client))


@event_app.command("list")
def events_list(
    status: Status = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Events per page")] = 20,
    every: Annotated[bool, typer.Option("--all", help="Every page, not only the first")] = False,
    as_json: AsJson = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Events, newest first."""
    items: list[dict[str, Any]] = []
    with sdk(url, token) as client:
        cursor: str | None = None
        while True:
            page = client.list_events(*(status or []), cursor=cursor, limit=limit)
            items += [e.model_dump(mode="json") for e in page.items]
            cursor = page.next_cursor
            if not every or cursor is None:
                break
    if as_json:
        print_json({"items": items, "next_cursor": cursor})
        return
    _print_events(items, cursor)


def _print_events(items: list[dict[str, Any]], cursor: str | None) -> None:
    table = Table("event", "name", "status", "left", "issued", "starts", "ends", "created")
    for e in items:
        table.add_row(
            e["event_id"],
            e["name"],
            e["status"],
            f"{e['remaining']}/{e['total_stock']}",
            str(e["issued"]),
            e["starts_at"] or "-",
            e["ends_at"] or "-",
            e["created_at"] or "-",
        )
    console.print(table)
    if cursor:
        console.print("[dim]more: --all, or --json for the cursor[/]")


@event_app.command("close")
def events_close(event_id: str, url: Url = None, token: Token = None) -> None:
    """End issuing now: later answers are closed (winners still get their coupon)."""
    _call(url, token, lambda c: c.close_event(event_id))


@event_app.command("extend")
def events_extend(
    event_id: str,
    ends_at: Annotated[str, typer.Option(help="RFC 3339 time in the future, or 'never'")],
    url: Url = None,
    token: Token = None,
) -> None:
    """Move the end of the window (also re-opens a closed event)."""
    end = None if ends_at == "never" else when(ends_at, "--ends-at")
    _call(url, token, lambda c: c.update_event(event_id, ends_at=end))


@event_app.command("top-up")
def events_top_up(
    event_id: str,
    add: Annotated[int | None, typer.Option(min=1, help="Coupons to add")] = None,
    to: Annotated[int | None, typer.Option(min=1, help="The new total")] = None,
    url: Url = None,
    token: Token = None,
) -> None:
    """Raise the total stock (behind the fence: safe under load, also when sold out)."""
    if (add is None) == (to is None):
        raise typer.BadParameter("give --add or --to")

    def top_up(client: Client) -> BaseModel:
        total = to if to is not None else client.get_event(event_id).total_stock + (add or 0)
        return client.update_event(event_id, total_stock=total)

    _call(url, token, top_up)


@event_app.command("archive")
def events_archive(event_id: str, url: Url = None, token: Token = None) -> None:
    """Take a finished event out of the sweeps, the gateways' feed and the metrics."""
    _call(url, token, lambda c: c.archive_event(event_id))


@event_app.command("export")
def events_export(
    event_id: str,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl")] = "csv",
    out: Annotated[Path | None, typer.Option(help="File to write (default: stdout)")] = None,
    url: Url = None,
    token: Token = None,
) -> None:
    """The winners, streamed from the database: user_id, slot, coupon_code, issued_at,
    state, order_id, redeemed_at, revoked_at."""
    if fmt not in ("csv", "jsonl"):
        raise typer.BadParameter("--format is csv or jsonl")
    sink = out.open("wb") if out else sys.stdout.buffer
    lines = 0
    try:
        with sdk(url, token) as client:
            for chunk in client.winners(event_id, fmt):
                sink.write(chunk)
                lines += chunk.count(b"\n")
    finally:
        if out:
            sink.close()
    rows = lines - 1 if fmt == "csv" else lines
    typer.echo(f"exported {rows} winners of {event_id}", err=True)


@coupons_app.command("verify")
def coupons_verify(code: str, url: Url = None, token: Token = None) -> None:
    """Is the code ours, which event, slot and user, and in what state."""
    _call(url, token, lambda c: c.get_coupon(code))


@coupons_app.command("redeem")
def coupons_redeem(
    code: str,
    order: Annotated[str, typer.Option(help="The order the coupon pays for")],
    url: Url = None,
    token: Token = None,
) -> None:
    """Redeem once; the same order again gets the same answer, another exits 1."""
    _call(url, token, lambda c: c.redeem(code, order))


@coupons_app.command("revoke")
def coupons_revoke(
    code: str,
    reason: Annotated[str, typer.Option(help="Why, for the audit log")],
    url: Url = None,
    token: Token = None,
) -> None:
    """Revoke a coupon that was not redeemed."""
    _call(url, token, lambda c: c.revoke(code, reason))


@app.command("audit")
def audit(
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    action: Annotated[str | None, typer.Option(help="e.g. coupons.redeem")] = None,
    target: Annotated[str | None, typer.Option(help="An event id or a coupon code")] = None,
    url: Url = None,
    token: Token = None,
) -> None:
    """Who did what, newest first."""
    _call(url, token, lambda c: c.audit(limit=limit, action=action, target=target))
