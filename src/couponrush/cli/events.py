"""``event create``, ``event show`` and ``issue``: the HTTP API of the running stack."""

from __future__ import annotations

from typing import Annotated

import httpx
import typer

from couponrush.cli.app import app, event_app, print_json
from couponrush.cli.stack import running_state


@event_app.command("create")
def event_create(
    event_id: str,
    stock: Annotated[int, typer.Option(help="Total coupons")],
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    starts_at: Annotated[str | None, typer.Option(help="RFC 3339; default now")] = None,
    ends_at: Annotated[str | None, typer.Option(help="RFC 3339; default never")] = None,
) -> None:
    """Create an event on the running stack."""
    state = running_state()
    body = {"event_id": event_id, "name": name or event_id, "total_stock": stock}
    body.update({k: v for k, v in (("starts_at", starts_at), ("ends_at", ends_at)) if v})
    headers = {"Authorization": f"Bearer {state.admin_token}"}
    response = httpx.post(f"{state.url}/v1/events", json=body, headers=headers, timeout=10)
    print_json(response.json())
    if response.status_code != 201:
        raise typer.Exit(1)


@event_app.command("show")
def event_show(event_id: str) -> None:
    """Stock left, issued count and status of an event."""
    response = httpx.get(f"{running_state().url}/v1/events/{event_id}", timeout=10)
    print_json(response.json())
    if response.status_code != 200:
        raise typer.Exit(1)


@app.command()
def issue(event_id: str, user_id: str) -> None:
    """Send one issue request and print the outcome (exit 0 only for a coupon)."""
    response = httpx.post(
        f"{running_state().url}/v1/events/{event_id}/issue", json={"user_id": user_id}, timeout=10
    )
    print_json(response.json())
    if response.status_code not in (200, 201):
        raise typer.Exit(1)
