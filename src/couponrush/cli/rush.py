"""``rush`` and ``demo``: the flash sale through the gateway, its report and its check.

The load harness (and its plotting stack) is imported only when one of these runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from couponrush.cli.app import Workers, app, console
from couponrush.cli.stack import local_stack
from couponrush.settings import Settings

if TYPE_CHECKING:
    from couponrush.rush.plan import RushPlan

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
    opening: Annotated[
        str, typer.Option(help='"fifo", or "shuffled": a pre-queue (docs/fair-opening.md)')
    ] = "fifo",
    window: Annotated[float, typer.Option(help="shuffled: the pre-queue's window (s)")] = 60.0,
    admit_per_wave: Annotated[
        int | None, typer.Option(help="shuffled: places a wave (default: a quarter of the stock)")
    ] = None,
    admit_every_s: Annotated[float, typer.Option(help="shuffled: wave interval (s)")] = 1.0,
) -> None:
    """A flash sale through the gateway with many clients, then the report and the check.

    Each client sends its own X-Forwarded-For, so a stack this command starts trusts the
    loopback hop (COUPONRUSH_TRUSTED_PROXIES, unless set otherwise). With ``--opening
    shuffled`` the clients join a pre-queue over ``--window`` seconds and issue wave by
    wave; the report shows position against arrival and the admission curve.
    """
    from couponrush.rush.command import new_event_id
    from couponrush.rush.plan import RushPlan

    if opening == "shuffled":
        wave = admit_per_wave or max(1, stock // 4)
        shape = (window, wave, admit_every_s, connections)
        _run_fair(new_event_id(), clients, stock, shape, out, workers)
        return
    if opening != "fifo":
        raise typer.BadParameter("opening is fifo or shuffled")
    if arrival not in ("burst", "ramp", "rate"):
        raise typer.BadParameter("arrival is burst, ramp or rate")
    plan = RushPlan(
        event_id=new_event_id(),
        clients=clients,
        stock=stock,
        connections=connections,
        processes=processes,
        arrival=arrival,  # type: ignore[arg-type]
        arrival_value=arrival_value,
        retry_budget=retry_budget,
        max_duration_s=max_duration,
    )
    _run(plan, expect_stock or stock, out, workers)


@app.command()
def demo(
    clients: Annotated[int, typer.Option(help="Distinct clients (users)")] = 1_000_000,
    stock: Annotated[int, typer.Option(help="Coupons in the event")] = 1_000,
    max_duration: Annotated[float, typer.Option(help="Stop sending after (s)")] = 300.0,
    workers: Workers = None,
) -> None:
    """The brief: stack up, 1,000 coupons, 1,000,000 clients, the report (see `rush`).

    A big sale on a small machine may need longer than the default to answer everyone
    (``--stock 100000`` on two shared cores: raise ``--max-duration``)."""
    from couponrush.rush.command import new_event_id
    from couponrush.rush.plan import RushPlan

    plan = RushPlan(
        event_id=new_event_id(), clients=clients, stock=stock, max_duration_s=max_duration
    )
    _run(plan, stock, None, workers)


def _run(plan: RushPlan, expected: int, out: Path | None, workers: int | None) -> None:
    from couponrush.rush import command

    options = command.RushOptions(plan, expected, out, workers)
    if not command.run(local_stack(_trusting_loopback()), console, options):
        raise typer.Exit(1)


def _run_fair(
    event_id: str,
    clients: int,
    stock: int,
    shape: tuple[float, int, float, int],
    out: Path | None,
    workers: int | None,
) -> None:
    """A shuffled opening's sale (rush/fair.py); exit 1 on a breach or an unverified order."""
    import asyncio

    from couponrush.rush import fair, fair_report

    stack = local_stack(_trusting_loopback())
    with console.status("bringing the stack up…"):
        state = stack.up(workers)
    plan = fair.FairPlan(event_id, clients, stock, *shape)
    console.print(
        f"event {event_id}: {stock:,} coupons, a pre-queue of {clients:,} clients "
        f"over {plan.window_s:.0f} s, waves of {plan.admit_per_wave:,} every "
        f"{plan.admit_every_s} s"
    )
    result = asyncio.run(fair.sale(state.url, state.admin_token, plan))
    found = fair_report.breaches(state, event_id, stock, result["answers"])
    fair_report.write(result, found, out or stack.var / "rush" / event_id, console)
    if found or not result["verified"]:
        raise typer.Exit(1)


def _trusting_loopback() -> Settings:
    settings = Settings()
    if not settings.trusted_proxies:
        settings = settings.model_copy(update={"trusted_proxies": ["127.0.0.1/32"]})
    return settings
