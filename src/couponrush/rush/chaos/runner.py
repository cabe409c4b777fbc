"""Runs the chosen faults: one local stack of its own per kind (queue, Redis mode), one
scenario per fault, then the table in markdown and JSON."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import groupby
from pathlib import Path

from rich.console import Console

from couponrush.pipeline.wiring import stores
from couponrush.rush.chaos import kafka_faults, scenario
from couponrush.rush.chaos.faults import Fault
from couponrush.rush.chaos.scenario import Outcome, Size
from couponrush.settings import Settings
from couponrush.stack.local import Stack
from couponrush.stack.procs import free_port
from couponrush.stack.state import StackState


@contextmanager
def chaos_stack(base: Settings, fault: Fault, keep: list[Path] | None = None) -> Iterator[Stack]:
    """A stack in a folder of its own, trusting the load generator's loopback hop, stopped
    and removed afterwards; kept instead (its logs and data) when the caller put its folder
    in ``keep`` meanwhile."""
    folder = Path(tempfile.mkdtemp(prefix="couponrush-chaos-"))
    folder.chmod(0o755)  # PostgreSQL runs as its own account and must reach it
    tuning = kafka_faults.TUNING if fault.queue == "kafka" else {}
    settings = base.model_copy(
        update={
            "var_dir": folder / "var",
            "trusted_proxies": ["127.0.0.1/32"],
            "gateway_port": free_port(),
            "queue": fault.queue,
            **tuning,
        }
    )
    stack = Stack(settings)
    try:
        yield stack
    finally:
        stack.down()
        if folder not in (keep or ()):
            shutil.rmtree(folder, ignore_errors=True)


def run(
    faults: Sequence[Fault], size: Size, base: Settings, console: Console, keep: bool = False
) -> list[Outcome]:
    """``keep``: leave every stack's folder behind; one whose scenario failed is left anyway."""
    outcomes: list[Outcome] = []
    ordered = sorted(faults, key=_kind)
    kept: list[Path] = []
    for kind, group in groupby(ordered, key=_kind):
        members = list(group)
        with chaos_stack(base, members[0], kept) as stack:
            first = members[0]
            with console.status(f"starting a {_describe(kind)} stack…"):
                state = stack.up(
                    queue=first.queue,
                    redis=first.redis,
                    prometheus=False,
                    isolated=first.netns,
                    kafka_brokers=first.kafka_brokers,
                )
            # The stack's own settings (its Redis, database, secret), as its programs get them.
            pointed = Settings.model_validate(_fields(state.environment()))
            for fault in members:
                console.print(f"[bold]{fault.name}[/]: {fault.what}")
                outcome = asyncio.run(_one(stack, state, pointed, fault, size))
                console.print(_line(outcome))
                outcomes.append(outcome)
                if keep or not outcome.passed:
                    kept.append(stack.settings.var_dir.parent)
                stack.up()  # start again whatever the fault left stopped
                stack.wait_redis(state)  # and let the topology heal before the next
        if kept and kept[-1] == stack.settings.var_dir.parent:
            console.print(f"  stack kept for inspection: {kept[-1]}")
    return outcomes


async def _one(
    stack: Stack, state: StackState, settings: Settings, fault: Fault, size: Size
) -> Outcome:
    async with stores(settings) as st:
        return await scenario.run(stack, state, settings, st, fault, size)


def _kind(fault: Fault) -> tuple[str, str, str, str]:
    brokers = f"{fault.kafka_brokers} brokers" if fault.queue == "kafka" else ""
    return fault.queue, fault.redis, "netns" if fault.netns else "loopback", brokers


def _describe(kind: tuple[str, str, str, str]) -> str:
    return "/".join(part for part in kind if part)


def _fields(env: dict[str, str]) -> dict[str, str]:
    """The stack's COUPONRUSH_ variables as settings fields."""
    return {k.removeprefix("COUPONRUSH_").lower(): v for k, v in env.items()}


def _line(outcome: Outcome) -> str:
    verdict = "[green]ok[/]" if outcome.ok else f"[red]BREACH[/] {outcome.fault_failed}"
    recovered = outcome.recovered_after_s
    done = "not in time" if recovered is None else f"after {recovered:.1f} s"
    flowing, waited = outcome.wins_again_s, outcome.check.longest_wait_s
    return (
        f"  {verdict}: told {outcome.check.told}, rows {outcome.check.rows}, "
        f"acknowledged then lost {len(outcome.check.acknowledged_lost)}, "
        f"503s {outcome.shed_503}, wins again after "
        f"{'-' if flowing is None else f'{flowing:.1f} s'}, recovered {done}, "
        f"longest win-to-row {'-' if waited is None else f'{waited:.1f} s'}"
    )
