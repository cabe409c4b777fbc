"""``couponrush rush --opening shuffled``: a sale with a pre-queue (docs/fair-opening.md).

Clients arrive at random times over the pre-queue's window and join through the gateway
(each with its own X-Forwarded-For). At the opening the order is read back and checked
against the revealed seed; then each wave's clients issue at the moment their wave is
admitted (clients that poll and act at once), until the sale sells out; the rest are told
sold_out by the state document. The report: position against arrival time (it should be
flat: Spearman's rho near 0, the mean position of each tenth of the arrivals near the
middle), the admission curve (admitted and won over time), and DESIGN §1 checked against
Redis and the database.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from couponrush.core.queue import ticket, verify
from couponrush.rush import oracle
from couponrush.rush.proto import Pool, parse_json, post_request

RETRIES = 5
TIMEOUT_S = 10.0
MARGIN_S = 2.0  # between the last arrival and the opening


@dataclass(frozen=True)
class FairPlan:
    event_id: str
    clients: int
    stock: int
    window_s: float
    admit_per_wave: int
    admit_every_s: float
    connections: int


def users(plan: FairPlan) -> list[str]:
    return [f"q{i:07d}" for i in range(plan.clients)]


def _forwarded(i: int) -> str:
    return f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"


async def _send(pool: Pool, path: bytes, user: str, i: int) -> tuple[int, bytes] | None:
    """One client's POST (status, body), waiting out 429/503 as Retry-After asks (a
    bounded number of times); None when no answer came."""
    raw = post_request(pool.host_header, path, user, _forwarded(i))
    for _ in range(RETRIES + 1):
        try:
            status, retry_after, body = await pool.send(raw, TIMEOUT_S)
        except (ConnectionError, OSError, TimeoutError):
            await asyncio.sleep(0.5)
            continue
        if status not in (429, 503):
            return status, body
        await asyncio.sleep(retry_after or 1.0)
    return None


async def enrol(
    pool: Pool, plan: FairPlan, start: float
) -> tuple[dict[str, float], dict[int, int], list[str]]:
    """Every client joins at its arrival time (uniform over the window, in order): who
    joined, user -> seconds from the window's start at which it was sent; the joins'
    answers by status; and who was told sold_out on joining (the queue had closed)."""
    names = users(plan)
    offsets = sorted(random.uniform(0, plan.window_s) for _ in names)
    pending = asyncio.Queue[int]()
    for i in range(plan.clients):
        pending.put_nowait(i)
    sent: dict[str, float] = {}
    joins: Counter[int] = Counter()
    closed: list[str] = []
    path = f"/v1/events/{plan.event_id}/queue".encode()

    async def worker() -> None:
        while not pending.empty():
            i = pending.get_nowait()
            await asyncio.sleep(max(0.0, start + offsets[i] - time.monotonic()))
            sent[names[i]] = time.monotonic() - start
            answer = await _send(pool, path, names[i], i)
            status = answer[0] if answer else 0
            joins[status] += 1
            if status not in (200, 201):
                sent.pop(names[i], None)
            if status == 410:
                closed.append(names[i])

    await asyncio.gather(*(worker() for _ in range(plan.connections)))
    return sent, dict(joins), closed


async def admit(
    pool: Pool, plan: FairPlan, order: list[str], opened: float
) -> tuple[list[oracle.Answer], list[dict[str, Any]]]:
    """Each wave's clients issue when it is admitted (a wave does not wait for the one
    before), until an answer says sold out: their answers and the admission curve
    (when each wave was admitted, up to which position, and when its wins were in)."""
    answers: list[oracle.Answer] = []
    curve: list[dict[str, Any]] = []
    path = f"/v1/events/{plan.event_id}/issue".encode()
    index = {u: i for i, u in enumerate(users(plan))}

    async def one(user: str) -> None:
        got = await _send(pool, path, user, index[user])
        body: dict[str, Any] = parse_json(got[1]) if got else {"result": "network_error"}
        answers.append(
            oracle.Answer(
                user,
                got[0] if got else 0,
                body["result"],
                body.get("slot"),
                body.get("coupon_code"),
            )
        )

    async def wave(k: int, batch: list[str]) -> None:
        admitted_s = time.monotonic() - opened
        await asyncio.gather(*(one(u) for u in batch))
        curve.append(
            {
                "t_s": round(admitted_s, 3),
                "admitted_upto": k * size + len(batch),
                "won_t_s": round(time.monotonic() - opened, 3),
                "won": sum(a.result == "issued" for a in answers),
            }
        )

    size, waves = plan.admit_per_wave, []
    for k in range((len(order) + size - 1) // size):
        await asyncio.sleep(max(0.0, opened + k * plan.admit_every_s - time.monotonic()))
        if any(a.result == "sold_out" for a in answers):
            break
        waves.append(asyncio.create_task(wave(k, order[k * size : (k + 1) * size])))
    await asyncio.gather(*waves)
    return answers, sorted(curve, key=lambda c: c["t_s"])


async def _create(http: httpx.AsyncClient, plan: FairPlan, token: str) -> tuple[str, float]:
    """The event, opening when the window and a margin have passed: its commitment, and
    its opening on this process's monotonic clock."""
    opened = time.monotonic() + plan.window_s + MARGIN_S
    opens_at = datetime.now(UTC) + timedelta(seconds=plan.window_s + MARGIN_S)
    body = {
        "event_id": plan.event_id,
        "name": f"Fair sale {plan.event_id}",
        "total_stock": plan.stock,
        "starts_at": opens_at.isoformat(),
        "opening": "shuffled",
        "admit_per_wave": plan.admit_per_wave,
        "admit_every_s": plan.admit_every_s,
    }
    created = await http.post("/v1/events", json=body, headers={"Authorization": f"Bearer {token}"})
    created.raise_for_status()
    return str(created.json()["commitment"]), opened


async def sale(url: str, admin_token: str, plan: FairPlan) -> dict[str, Any]:
    """The whole sale; the report's figures (the invariants are checked by the caller).
    Admission starts at the opening whether or not every arrival is in (a generator
    behind its schedule makes late joiners, who go to the end)."""
    by_ticket = {ticket(plan.event_id, u): u for u in users(plan)}
    gateway = httpx.URL(url)
    pool = Pool(gateway.host, gateway.port or 80, plan.connections)
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT_S) as http:
        commitment, opened = await _create(http, plan, admin_token)
        try:
            enrolling = asyncio.create_task(enrol(pool, plan, opened - plan.window_s - MARGIN_S))
            await asyncio.sleep(max(0.0, opened - time.monotonic()) + 0.05)
            at_opening = (await http.get(f"/v1/events/{plan.event_id}/queue/order")).json()
            drawn = [by_ticket[t] for t in at_opening["prequeue"]]
            answers, curve = await admit(pool, plan, drawn, opened)
            arrivals, joins, closed = await enrolling
        finally:
            pool.close()
        order = (await http.get(f"/v1/events/{plan.event_id}/queue/order")).json()
        state = (await http.get(f"/v1/events/{plan.event_id}/queue/state")).json()
    served = [by_ticket[t] for t in order["prequeue"] + order["late"]]
    told = {a.user_id for a in answers}
    rest = [oracle.Answer(u, 410, "sold_out") for u in served if u not in told]
    rest += [oracle.Answer(u, 410, "sold_out") for u in closed]
    checked = verify(commitment, order["seed"], order["prequeue"], order["late"])
    prequeue = {u: i + 1 for i, u in enumerate(served[: checked.prequeue])}
    return {
        "plan": plan.__dict__,
        "verified": checked.ok and order["prequeue"] == at_opening["prequeue"],
        "prequeue": checked.prequeue,
        "late": checked.late,
        "arrivals": arrivals,
        "joins_by_status": joins,
        "positions": prequeue,
        "admission_curve": curve,
        "answers": answers + (rest if state["sold_out"] else []),
        "sold_out": state["sold_out"],
    }
