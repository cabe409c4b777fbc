"""One scenario: a burst through the gateway, its fault mid-burst, a probe that times the
recovery, and the set check once the pipeline has drained."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from couponrush.client import AsyncClient, RetryPolicy
from couponrush.core.errors import StackError
from couponrush.pipeline import recovery
from couponrush.pipeline.failures import is_retryable
from couponrush.pipeline.wiring import Stores, signer_for
from couponrush.rush import runner
from couponrush.rush.chaos.check import Answer, SetCheck, check
from couponrush.rush.chaos.faults import Fault
from couponrush.rush.plan import RushPlan
from couponrush.settings import Settings
from couponrush.stack.local import Stack
from couponrush.stack.state import StackState

SHED = frozenset({"unavailable", "overloaded"})  # the 503 answers
_PROBE = RetryPolicy(max_attempts=1, timeout_s=1.0)


@dataclass(frozen=True)
class Size:
    clients: int
    rate: float  # clients arriving per second
    fault_at_s: float  # after the opening
    outage_s: float  # how long a lasting fault lasts
    deadline_s: float  # bound of the burst, of the recovery and of the drain


SHORT = Size(clients=1500, rate=500.0, fault_at_s=1.0, outage_s=2.0, deadline_s=60.0)
FULL = Size(clients=20_000, rate=400.0, fault_at_s=10.0, outage_s=30.0, deadline_s=180.0)


@dataclass
class Outcome:
    fault: Fault
    size: Size
    check: SetCheck
    shed_503: int  # 503 answers from the fault until recovery
    recovered_after_s: float | None  # from the end of the fault; None: not in time
    # From the start of the fault (the kill, the cut) until wins are answered again after
    # its last 503; None: no win after it (sold out first)
    wins_again_s: float | None = None
    history: list[Answer] = field(default_factory=list)
    # When the fault began and ended, in the history's clock (seconds since the opening).
    window_s: tuple[float, float] = (0.0, 0.0)
    # Why the fault's own check failed (its heal found it did not act): a failed scenario.
    fault_failed: str = ""

    @property
    def ok(self) -> bool:
        return self.check.ok and not self.fault_failed

    @property
    def passed(self) -> bool:
        return self.ok and self.recovered_after_s is not None

    @property
    def outage_s(self) -> float:
        return outage_of(self.fault, self.size) if self.fault.lasts else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.fault.name,
            "fault": self.fault.what,
            "outage_s": self.outage_s,
            "clients": clients_of(self.fault, self.size),
            "answers_503_during_fault": self.shed_503,
            "recovered_after_s": self.recovered_after_s,
            "wins_again_after_s": self.wins_again_s,
            "fault_from_s": round(self.window_s[0], 2),
            "fault_until_s": round(self.window_s[1], 2),
            **self.check.to_json(),
            "ok": self.ok,
            "fault_failed": self.fault_failed or None,
        }


def outage_of(fault: Fault, size: Size) -> float:
    return max(size.outage_s, fault.min_outage_s)


def clients_of(fault: Fault, size: Size) -> int:
    """A partition's clients keep arriving until seconds after it healed (the short form's
    burst would otherwise sell out while the fault still lasts, and test nothing after)."""
    if not fault.netns:
        return size.clients
    return max(size.clients, int(size.rate * (size.fault_at_s + outage_of(fault, size) + 4)))


async def run(
    stack: Stack, state: StackState, settings: Settings, stores: Stores, fault: Fault, size: Size
) -> Outcome:
    event = f"chaos-{fault.name}-{secrets.token_hex(3)}"
    clients = clients_of(fault, size)
    stock = int(clients * 0.8)  # sells out near the end, after the fault
    async with AsyncClient(state.url, admin_token=state.admin_token) as sdk:
        await sdk.create_event(event, stock)
        await sdk.create_event(f"{event}-probe", 10_000_000)
    plan = RushPlan(
        event_id=event,
        clients=clients,
        stock=stock,
        connections=64,
        arrival="rate",
        arrival_value=size.rate,
        retry_budget=40,
        max_duration_s=size.deadline_s,
        history=True,
    )
    opening = time.time() + runner.START_DELAY_S
    burst = asyncio.create_task(asyncio.to_thread(runner.run, plan, state.url, False, opening))
    fault_s, healed_s, failed = await _inject(stack, fault, size, event, opening)
    recovered = await _recovery(state.url, stores, f"{event}-probe", size.deadline_s)
    merged = await burst
    end_s = healed_s + (recovered if recovered is not None else size.deadline_s)
    shed = sum(
        n
        for second, counts in merged.answers_by_s.items()
        if int(fault_s) <= second <= end_s
        for result, n in counts.items()
        if result in SHED
    )
    history = sorted(Answer(*a) for a in merged.history)
    result = await _settled_check(stores, settings, plan, merged, history, size.deadline_s)
    flowing = wins_again(history, fault_s, end_s)
    window = (fault_s, healed_s)
    return Outcome(fault, size, result, shed, recovered, flowing, history, window, failed)


async def _inject(
    stack: Stack, fault: Fault, size: Size, event: str, opening: float
) -> tuple[float, float, str]:
    """The fault, ``fault_at_s`` after the opening, and its heal after its outage; when
    each happened, in seconds since the opening, and why the heal's check failed ("")."""
    await asyncio.sleep(max(0.0, opening + size.fault_at_s - time.time()))
    fault_s, failed = time.time() - opening, ""
    await asyncio.to_thread(fault.inject, stack, event)
    if fault.heal is not None:
        await asyncio.sleep(outage_of(fault, size))
        try:
            await asyncio.to_thread(fault.heal, stack, event)
        except StackError as exc:  # healed, but the fault did not do what it should
            failed = str(exc)
    return fault_s, time.time() - opening, failed


def wins_again(history: list[Answer], fault_s: float, until_s: float) -> float | None:
    """Seconds from ``fault_s`` to the first win answered after the last 503 before
    ``until_s`` (the fault's end and recovery), all in seconds since the opening."""
    after = [a for a in history if a.at_s >= fault_s]
    shed = [a.at_s for a in after if a.status == 503 and a.at_s <= until_s]
    last_shed = max(shed, default=fault_s)
    first = next((a.at_s for a in after if a.result == "issued" and a.at_s > last_shed), None)
    return None if first is None else round(first - fault_s, 2)


async def _recovery(url: str, stores: Stores, probe: str, deadline_s: float) -> float | None:
    """Seconds until a win sent after the fault ended has its database row: the whole path,
    gateway to PostgreSQL, works again."""
    start, won = time.monotonic(), set()
    async with AsyncClient(url, policy=_PROBE) as sdk:
        for n in range(int(deadline_s * 10)):  # bounded: about one probe per 100 ms
            if time.monotonic() - start > deadline_s:
                break
            if (await sdk.issue(probe, f"probe-{n}")).won:
                won.add(f"probe-{n}")
            if won & await _persisted_users(stores, probe):
                return round(time.monotonic() - start, 2)
            await asyncio.sleep(0.1)
    return None


async def _persisted_users(stores: Stores, event_id: str) -> set[str]:
    try:
        return {r.user_id for r in await stores.db.issuances(event_id)}
    except Exception as exc:  # the database may be the thing that is down
        if not is_retryable(exc):
            raise
        return set()


async def _settled_check(
    stores: Stores,
    settings: Settings,
    plan: RushPlan,
    merged: runner.Merged,
    history: list[Answer],
    deadline_s: float,
) -> SetCheck:
    """Wait for the pipeline to drain (rows = Redis winners), then check."""
    deadline = time.monotonic() + deadline_s
    while True:
        winners, _ = await stores.events.winners(plan.event_id)
        rows = await stores.db.issuances(plan.event_id)
        if len(rows) >= len(winners) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    report = await recovery.reconcile(stores.events, stores.db, signer_for(settings), plan.event_id)
    told = {user: (slot, code) for user, slot, code in merged.winners}
    slots = {user: slot for user, (slot, _) in winners.items()}
    return check(plan.stock, told, merged.undecided, rows, slots, report.breaches(), history)
