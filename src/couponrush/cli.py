"""The ``couponrush`` command line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console

from couponrush.cli_pipeline import pipeline_app
from couponrush.errors import CouponrushError
from couponrush.rush import command as rush_command
from couponrush.rush.command import RushOptions, new_event_id
from couponrush.rush.plan import RushPlan
from couponrush.settings import Settings
from couponrush.stack import Stack, require_running

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="First-come-first-served coupon issuance for flash events.",
)
event_app = typer.Typer(no_args_is_help=True, help="Create and inspect events.")
app.add_typer(event_app, name="event")
# The pipeline's commands (db, consume, relay, dlq, reconcile, restore) at the top level.
app.registered_commands += pipeline_app.registered_commands
app.registered_groups += pipeline_app.registered_groups
console = Console()

Workers = Annotated[
    int | None, typer.Option(help="App worker processes (default: cores - 1, at least 1)")
]


def _stack() -> Stack:
    return Stack(Settings())


def _api(stack: Stack) -> tuple[str, dict[str, str]]:
    state = require_running(stack)
    return state.url, {"Authorization": f"Bearer {state.admin_token}"}


def _print_json(body: Any) -> None:
    console.print_json(json.dumps(body))


Queue = Annotated[str | None, typer.Option(help="stream (no broker) or kafka")]


@app.command()
def up(workers: Workers = None, queue: Queue = None) -> None:
    """Start Redis, PostgreSQL, the app workers, the gateway and the consumer on loopback
    (state under ./var); with --queue kafka also a Kafka-protocol broker and the relay."""
    if queue not in (None, "stream", "kafka"):
        raise typer.BadParameter("queue is stream or kafka")
    stack = _stack()
    with console.status("starting the stack…"):
        state = stack.up(workers, queue)
    console.print(f"[green]ready[/] {state.url}  (docs: {state.url}/docs)")
    console.print(f"admin token: {state.admin_token}")
    apps = state.app_urls or state.app_sockets
    console.print(f"redis: {state.redis_url}  database: {state.database_url}  queue: {state.queue}")
    console.print(f"app workers: {', '.join(apps)}")
    if (workers and workers != state.workers) or (queue and queue != state.queue):
        console.print("[yellow]note:[/] the stack was already running with "
                      f"{state.workers} workers and queue {state.queue}; "
                      "'couponrush down' first to change them")  # fmt: skip


@app.command()
def down() -> None:
    """Stop everything `up` started."""
    stopped = _stack().down()
    console.print("stopped" if stopped else "nothing was running")


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable")] = False,
) -> None:
    """Where the running stack is, and its processes."""
    stack = _stack()
    state = stack.load_state()
    running = state is not None and stack.running()
    body = {
        "running": running,
        "url": state.url if state else None,
        "admin_token": state.admin_token if state else None,
        "redis_url": state.redis_url if state else None,
        "gateway_url": state.url if state else None,
        "app_urls": state.app_urls if state else [],
        "app_sockets": state.app_sockets if state else [],
        "database_url": state.database_url if state else None,
        "queue": state.queue if state else None,
        "processes": stack.processes() if running else [],
    }
    if as_json:
        typer.echo(json.dumps(body))
    else:
        _print_json(body)
    if not running:
        raise typer.Exit(3)


@event_app.command("create")
def event_create(
    event_id: str,
    stock: Annotated[int, typer.Option(help="Total coupons")],
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    starts_at: Annotated[str | None, typer.Option(help="RFC 3339; default now")] = None,
    ends_at: Annotated[str | None, typer.Option(help="RFC 3339; default never")] = None,
) -> None:
    """Create an event on the running stack."""
    url, headers = _api(_stack())
    body = {"event_id": event_id, "name": name or event_id, "total_stock": stock}
    body.update({k: v for k, v in (("starts_at", starts_at), ("ends_at", ends_at)) if v})
    response = httpx.post(f"{url}/v1/events", json=body, headers=headers, timeout=10)
    _print_json(response.json())
    if response.status_code != 201:
        raise typer.Exit(1)


@event_app.command("show")
def event_show(event_id: str) -> None:
    """Stock left, issued count and status of an event."""
    url, _ = _api(_stack())
    response = httpx.get(f"{url}/v1/events/{event_id}", timeout=10)
    _print_json(response.json())
    if response.status_code != 200:
        raise typer.Exit(1)


@app.command()
def issue(event_id: str, user_id: str) -> None:
    """Send one issue request and print the outcome (exit 0 only for a coupon)."""
    url, _ = _api(_stack())
    response = httpx.post(
        f"{url}/v1/events/{event_id}/issue", json={"user_id": user_id}, timeout=10
    )
    _print_json(response.json())
    if response.status_code not in (200, 201):
        raise typer.Exit(1)


Arrival = Annotated[str, typer.Option(help="burst (all at the opening), ramp, or rate")]


@app.command()
def rush(
    clients: Annotated[int, typer.Option(help="Distinct clients (users)")] = 1_000_000,
    stock: Annotated[int, typer.Option(help="Coupons in the event")] = 1_000,
    connections: Annotated[int, typer.Option(help="Connections at once")] = 256,
    processes: Annotated[int, typer.Option(help="Generator processes")] = 1,
    arrival: Arrival = "burst",
    arrival_value: Annotated[float, typer.Option(help="ramp: seconds; rate: clients/s")] = 0.0,
    retry_budget: Annotated[int, typer.Option(help="Retries per client on 429/503")] = 5,
    max_duration: Annotated[float, typer.Option(help="Stop sending after (s)")] = 300.0,
    expect_stock: Annotated[int | None, typer.Option(help="Stock the check expects")] = None,
    out: Annotated[Path | None, typer.Option(help="Report folder")] = None,
    workers: Workers = None,
) -> None:
    """A flash sale through the gateway with many clients, then the report and the check.

    Each client sends its own X-Forwarded-For, so a stack this command starts trusts the
    loopback hop (COUPONRUSH_TRUSTED_PROXIES, unless set otherwise).
    """
    if arrival not in ("burst", "ramp", "rate"):
        raise typer.BadParameter("arrival is burst, ramp or rate")
    plan = RushPlan(event_id=new_event_id(), clients=clients, stock=stock,
                    connections=connections, processes=processes, arrival=arrival,  # type: ignore[arg-type]
                    arrival_value=arrival_value, retry_budget=retry_budget,
                    max_duration_s=max_duration)  # fmt: skip
    options = RushOptions(plan, expect_stock or stock, out, workers)
    if not rush_command.run(Stack(_trusting_loopback()), console, options):
        raise typer.Exit(1)


@app.command()
def demo(
    clients: Annotated[int, typer.Option(help="Distinct clients (users)")] = 1_000_000,
    stock: Annotated[int, typer.Option(help="Coupons in the event")] = 1_000,
    workers: Workers = None,
) -> None:
    """The brief: stack up, 1,000 coupons, 1,000,000 clients, the report (see `rush`)."""
    plan = RushPlan(event_id=new_event_id(), clients=clients, stock=stock)
    if not rush_command.run(Stack(_trusting_loopback()), console,
                            RushOptions(plan, stock, None, workers)):  # fmt: skip
        raise typer.Exit(1)


def _trusting_loopback() -> Settings:
    settings = Settings()
    if not settings.trusted_proxies:
        settings = settings.model_copy(update={"trusted_proxies": ["127.0.0.1/32"]})
    return settings


def _local_stack_defaults() -> None:
    """Point the commands at the local stack when it runs and nothing else was set."""
    stack = _stack()
    state = stack.load_state()
    if state is None or not stack.running():
        return
    defaults = {
        "REDIS_URL": state.redis_url,
        "DATABASE_URL": state.database_url,
        "COUPON_SECRET": state.coupon_secret,
        "QUEUE": state.queue,
    }
    for name, value in defaults.items():
        os.environ.setdefault(f"COUPONRUSH_{name}", value)
    if state.queue == "kafka":
        os.environ.setdefault("COUPONRUSH_KAFKA_BOOTSTRAP", f"127.0.0.1:{state.kafka_port}")


def main() -> None:
    try:
        _local_stack_defaults()
        app()
    except CouponrushError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise SystemExit(2) from exc
    except ValidationError as exc:  # settings from the environment
        console.print(f"[red]invalid settings:[/] {exc}")
        raise SystemExit(2) from exc
