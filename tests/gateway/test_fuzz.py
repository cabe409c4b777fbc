"""Raw-socket fuzz of the gateway: over 250 malformed requests (fuzz_lines, fuzz_framing).

It must find no 500, a JSON problem body on every error (with Allow on 405, Retry-After
on 429 and 503), nothing refused or malformed reaching an app worker, nothing smuggled
past the gateway, and a healthy stack afterwards.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path

import pytest
from redis.asyncio import Redis

from couponrush.store.keys import event_keys
from tests.helpers import create_event

from . import fuzz_framing, fuzz_lines
from .conftest import AppPool, Gateway, GatewayFactory
from .fuzz_cases import Case, Cases
from .rawhttp import Exchange, exchange

# The result codes of the gateway's own answers (docs/gateway.md).
GATEWAY_RESULTS = {"bad_request", "not_found", "method_not_allowed", "timeout",
                   "payload_too_large", "uri_too_long", "headers_too_large", "rate_limited",
                   "http_error", "not_implemented", "overloaded", "unavailable",
                   "version_not_supported"}  # fmt: skip
# What only the gateway's Lua side refuses (lua/couponrush/request.lua): plain nginx passes
# these on, and the app's server answers them with an empty 400 or 431 of its own.
NEEDS_LUA = {"control char in value", "DEL in value", "300 headers of 100"}
FAMILIES = (fuzz_lines.request_lines, fuzz_lines.percent_encodings, fuzz_lines.methods,
            fuzz_lines.prefaces, fuzz_framing.duplicates, fuzz_framing.length_and_encoding,
            fuzz_framing.big_headers, fuzz_framing.malformed_headers, fuzz_framing.chunked,
            fuzz_framing.bodies_and_paths)  # fmt: skip


def build(smuggle_event: str) -> list[Case]:
    cases = Cases(smuggle_event)
    for family in FAMILIES:
        family(cases)
    return cases.numbered()


def faults(case: Case, got: Exchange, forwarded: bool) -> list[str]:
    why = [got.error] if got.error else []
    for answer in got.responses:
        doc = answer.document
        if case.parts[0].startswith(b"HEAD "):
            continue  # an answer to HEAD has no body
        if answer.status == 500:
            why.append("500")
        json_type = "json" in answer.headers.get("content-type", "")
        if answer.status >= 400 and not (json_type and isinstance(doc, dict) and "result" in doc):
            why.append(f"{answer.status} without a JSON problem: {answer.body[:60]!r}")
        if answer.headers.get("x-rejected-by") == "gateway" and isinstance(doc, dict):
            why += [f"result {doc.get('result')}"] * (doc.get("result") not in GATEWAY_RESULTS)
        if answer.status == 405 and "allow" not in answer.headers:
            why.append("405 without Allow")
        if answer.status in (429, 503) and "retry-after" not in answer.headers:
            why.append(f"{answer.status} without Retry-After")
    if got.raw and Exchange(raw=got.raw).raw.lstrip()[:1] not in (b"{", b""):
        why.append(f"bytes that are no JSON answer: {got.raw[:60]!r}")
    if forwarded and not case.forwards:
        why.append("reached an app worker")
    return why


def forwarded_cases(gw: Gateway) -> set[int]:
    """The cases whose request the gateway passed on to a worker."""
    return {
        int(m.group(1))
        for line in gw.access_log()
        if line["upstream"]
        for m in [re.search(r"[?&]case=(\d+)", line["uri"])]
        if m
    }


async def run(port: int, cases: list[Case]) -> list[Exchange]:
    gate = asyncio.Semaphore(16)

    async def one(case: Case) -> Exchange:
        async with gate:
            return await exchange(
                port, case.parts, case.pause_s, case.half_close, case.deadline_s, case.expected
            )

    return await asyncio.gather(*(one(case) for case in cases))


def report(cases: list[Case], got: list[Exchange], path: Path) -> Counter[str]:
    """One line per case (kept beside the gateway's logs) and the statuses seen."""
    statuses: Counter[str] = Counter()
    lines = []
    for case, ex in zip(cases, got, strict=True):
        seen = [str(a.status) for a in ex.responses] or ["closed" if ex.closed else "no answer"]
        statuses.update(seen)
        lines.append(f"#{case.cid} {case.family}: {case.name!r} -> {', '.join(seen)}")
    path.write_text("\n".join(lines) + "\n")
    return statuses


@pytest.mark.parametrize("lua", [True, False], ids=["lua", "plain-nginx"])
async def test_malformed_requests_get_json_answers_and_reach_no_worker(
    app_pool: AppPool, start_gateway: GatewayFactory, redis: Redis, event_id: str, lua: bool
) -> None:
    create_event(app_pool, event_id, 1000)
    gw = start_gateway(
        app_pool,
        client_rate_per_s=100_000,
        client_burst=100_000,
        conn_per_client=1000,
        client_timeout_s=1,
        gateway_lua=lua,
    )
    cases = build(event_id)
    assert len(cases) == len({c.name for c in cases}) >= 250
    got = await run(gw.port, cases)
    statuses = report(cases, got, gw.conf.parent / "fuzz.txt")
    forwarded = forwarded_cases(gw)
    failed = {
        c.name: why
        for c, ex in zip(cases, got, strict=True)
        if (why := faults(c, ex, c.cid in forwarded))
    }
    assert set(failed) == (set() if lua else NEEDS_LUA), failed
    assert "500" not in statuses
    assert len({c.family for c in cases}) >= 14
    # Nothing smuggled: the hidden issue requests would have made "smuggled" a winner.
    assert await redis.hlen(event_keys(event_id).participants) == 0
    # Healthy afterwards.
    if lua:
        assert gw.metrics()[("couponrush_gateway_lua_errors_total", "")] == 0
    with app_pool.direct() as direct:
        assert direct.get("/readyz").status_code == 200
    ok = await exchange(gw.port, [b"GET /readyz HTTP/1.1\r\nHost: gw\r\n\r\n"], 0, False, 5, 1)
    assert [a.status for a in ok.responses] == [200]
