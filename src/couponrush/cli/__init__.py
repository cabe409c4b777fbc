"""The ``couponrush`` command line: one Typer app, its commands split by topic.

Exit codes: 0 fine, 1 a breach found or an operation refused, 2 unusable settings or an
error before the command could run, 3 ``status`` of a stack that is not running.
"""

from __future__ import annotations

import os

from pydantic import ValidationError

from couponrush.cli import (
    chaos,
    deploy,
    dlq,
    events,
    kafka,
    observe,
    pipeline,
    queue,
    recovery,
    rush,
    season,
    serve,
    stack,
    tokens,
)
from couponrush.cli.app import app, console
from couponrush.core.errors import CouponrushError
from couponrush.settings import Settings

__all__ = [
    "app",
    "chaos",
    "deploy",
    "dlq",
    "events",
    "kafka",
    "main",
    "observe",
    "pipeline",
    "queue",
    "recovery",
    "rush",
    "season",
    "serve",
    "stack",
    "tokens",
]


def _local_stack_defaults() -> None:
    """Point the commands at the local stack when it runs and nothing else was set."""
    from couponrush.stack.state import load
    from couponrush.stack.supervisor import Supervisor

    var = Settings().var_dir.resolve()
    state = load(var / "state.json")
    if state is None or not Supervisor(var).running():
        return
    for name, value in state.environment().items():
        os.environ.setdefault(name, value)


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
