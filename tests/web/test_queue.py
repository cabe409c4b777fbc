"""A shuffled opening against real app workers and Redis: the commitment, the reveal and
the order anyone can check, a refresh that keeps the place, admission in waves inside the
issue step, late arrivals at the end, the proof of work, and the queue closing at the
sell-out (docs/fair-opening.md)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from couponrush.core.admission import solve
from couponrush.core.queue import ticket, verify
from couponrush.stack.ready import wait_until
from tests.fixtures.app import AppServer
from tests.helpers import create_event, run_cli


def _at(delta_s: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=delta_s)


def shuffled(
    app: AppServer, event_id: str, stock: int, opens_in_s: float = 1.5, **opening: Any
) -> None:
    create_event(app, event_id, stock, starts_at=_at(opens_in_s), opening="shuffled", **opening)


def _opened(http: httpx.Client, event_id: str) -> Callable[[], bool]:
    return lambda: http.get(f"/v1/events/{event_id}/queue/state").json()["seed"] is not None


def _join(http: httpx.Client, event_id: str, user: str, **extra: Any) -> httpx.Response:
    return http.post(f"/v1/events/{event_id}/queue", json={"user_id": user, **extra})


def test_the_order_recomputed_from_the_revealed_seed_is_the_order_served(
    http: httpx.Client, app_server: AppServer, event_id: str, tmp_path: Path
) -> None:
    shuffled(app_server, event_id, 5)
    event = http.get(f"/v1/events/{event_id}").json()
    assert (event["opening"], event["seed"]) == ("shuffled", None)
    users = [f"u{i:03d}" for i in range(40)]
    for user in users:
        joined = _join(http, event_id, user)
        assert (joined.status_code, joined.json()["position"]) == (201, None), joined.text
    state = http.get(f"/v1/events/{event_id}/queue/state")
    assert state.headers["cache-control"] == "public, max-age=1"
    assert (state.json()["enrolled"], state.json()["seed"]) == (40, None)
    assert state.json()["commitment"] == event["commitment"]
    early = http.get(f"/v1/events/{event_id}/queue/order")
    assert (early.status_code, early.json()["result"]) == (409, "not_open")
    wait_until(_opened(http, event_id), "the opening", 10)
    order = http.get(f"/v1/events/{event_id}/queue/order").json()
    seed = order["seed"]
    assert hashlib.sha256(bytes.fromhex(seed)).hexdigest() == event["commitment"]
    assert http.get(f"/v1/events/{event_id}").json()["seed"] == seed
    assert verify(event["commitment"], seed, order["prequeue"], order["late"]).ok
    served = {u: http.get(f"/v1/events/{event_id}/queue/{u}").json()["position"] for u in users}
    recomputed = {u: order["prequeue"].index(ticket(event_id, u)) + 1 for u in users}
    assert served == recomputed
    assert sorted(served.values()) == list(range(1, 41))
    _verify_with_the_cli(app_server, event_id, served["u007"], tmp_path)


def _verify_with_the_cli(app: AppServer, event_id: str, position: int, tmp_path: Path) -> None:
    """``couponrush queue verify`` passes the order served and fails a tampered copy."""
    env = {**os.environ, "COUPONRUSH_VAR_DIR": str(tmp_path / "var")}
    saved = tmp_path / "order.json"
    args = ["queue", "verify", event_id, "--url", app.url, "--user", "u007", "--json"]
    done = run_cli([*args, "--save", str(saved)], env)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert (report["ok"], report["prequeue"], report["position"]) == (True, 40, position)
    order = json.loads(saved.read_text())
    order["prequeue"][3], order["prequeue"][4] = order["prequeue"][4], order["prequeue"][3]
    saved.write_text(json.dumps(order))
    tampered = run_cli(["queue", "verify", event_id, "--file", str(saved), "--json"], env)
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert json.loads(tampered.stdout)["first_difference"] == 4


def test_a_refresh_keeps_the_place_and_late_arrivals_join_the_end(
    http: httpx.Client, app_server: AppServer, event_id: str
) -> None:
    shuffled(app_server, event_id, 3, admit_per_wave=1, admit_every_s=60)
    for user in ("a", "b", "c"):
        assert _join(http, event_id, user).status_code == 201
    again = _join(http, event_id, "b")
    assert (again.status_code, again.json()["result"]) == (200, "already_queued")
    wait_until(_opened(http, event_id), "the opening", 10)
    place = http.get(f"/v1/events/{event_id}/queue/b").json()
    for _ in range(3):  # a refresh (the page joins again on load) never moves anyone
        refreshed = _join(http, event_id, "b").json()
        assert (refreshed["result"], refreshed["position"]) == ("already_queued", place["position"])
    late = [_join(http, event_id, u).json() for u in ("late-1", "late-2")]
    assert [p["position"] for p in late] == [4, 5]
    assert [p["result"] for p in late] == ["queued", "queued"]
    order = http.get(f"/v1/events/{event_id}/queue/order").json()
    assert order["late"] == [ticket(event_id, "late-1"), ticket(event_id, "late-2")]


def test_issue_refuses_whom_the_queue_has_not_admitted(
    http: httpx.Client, app_server: AppServer, event_id: str
) -> None:
    shuffled(app_server, event_id, 10, admit_per_wave=2, admit_every_s=1.5)
    users = [f"w{i}" for i in range(6)]
    for user in users:
        _join(http, event_id, user)
    early = http.post(f"/v1/events/{event_id}/issue", json={"user_id": "w0"})
    assert (early.status_code, early.json()["result"]) == (409, "not_open")
    wait_until(_opened(http, event_id), "the opening", 10)
    place = {u: http.get(f"/v1/events/{event_id}/queue/{u}").json() for u in users}
    first = next(u for u in users if place[u]["position"] == 1)
    last = next(u for u in users if place[u]["position"] == 6)
    assert place[first]["admitted"]
    assert not place[last]["admitted"]
    refused = http.post(f"/v1/events/{event_id}/issue", json={"user_id": last})
    body = refused.json()
    assert (refused.status_code, body["result"], body["position"]) == (409, "not_admitted", 6)
    assert body["admitted_upto"] in (2, 4)  # the wave may have turned since the place
    assert 1 <= int(refused.headers["retry-after"]) <= 3
    stranger = http.post(f"/v1/events/{event_id}/issue", json={"user_id": "never-joined"}).json()
    assert (stranger["result"], stranger["position"]) == ("not_admitted", None)
    assert http.post(f"/v1/events/{event_id}/issue", json={"user_id": first}).status_code == 201
    time.sleep(int(refused.headers["retry-after"]))  # the wait it was told, and not longer
    won = http.post(f"/v1/events/{event_id}/issue", json={"user_id": last})
    assert won.status_code == 201, won.text


def test_the_queue_closes_at_the_sell_out(
    http: httpx.Client, app_server: AppServer, event_id: str
) -> None:
    shuffled(app_server, event_id, 2, admit_per_wave=2)
    for user in ("s1", "s2", "s3", "s4"):
        _join(http, event_id, user)
    wait_until(_opened(http, event_id), "the opening", 10)
    admitted = [
        u
        for u in ("s1", "s2", "s3", "s4")
        if http.get(f"/v1/events/{event_id}/queue/{u}").json()["admitted"]
    ]
    for user in admitted:
        assert http.post(f"/v1/events/{event_id}/issue", json={"user_id": user}).status_code == 201
    state = http.get(f"/v1/events/{event_id}/queue/state").json()
    assert (state["sold_out"], state["estimated_wait_s"]) == (True, 0.0)
    waiting = next(u for u in ("s1", "s2", "s3", "s4") if u not in admitted)
    for answer in (
        http.get(f"/v1/events/{event_id}/queue/{waiting}"),
        _join(http, event_id, "newcomer"),
        http.post(f"/v1/events/{event_id}/issue", json={"user_id": waiting}),
    ):
        assert (answer.status_code, answer.json()["result"]) == (410, "sold_out"), answer.text
    winner = http.get(f"/v1/events/{event_id}/queue/{admitted[0]}").json()
    assert winner["admitted"] is True  # a winner's place still reads, and its coupon too


def test_a_proof_of_work_is_wanted_when_the_event_says(
    http: httpx.Client, app_server: AppServer, event_id: str
) -> None:
    shuffled(app_server, event_id, 1, opens_in_s=60, proof_bits=10)
    state = http.get(f"/v1/events/{event_id}/queue/state").json()
    assert state["proof_bits"] == 10
    for proof in ({}, {"proof": "0"}):
        refused = _join(http, event_id, "carol", **proof)
        assert (refused.status_code, refused.json()["result"]) == (422, "bad_proof")
    nonce = solve(state["commitment"], "carol", 10)
    assert _join(http, event_id, "carol", proof=nonce).status_code == 201
    assert _join(http, event_id, "carol").status_code == 200  # in already: no proof again


def test_a_first_come_first_served_event_has_no_queue(
    http: httpx.Client, app_server: AppServer, event_id: str
) -> None:
    create_event(app_server, event_id, 1)
    for answer in (
        _join(http, event_id, "dave"),
        http.get(f"/v1/events/{event_id}/queue/state"),
        http.get(f"/v1/events/{event_id}/queue/dave"),
    ):
        assert (answer.status_code, answer.json()["result"]) == (409, "no_queue")
    assert http.get("/v1/events/no-such-event/queue/state").status_code == 404
    assert http.post(f"/v1/events/{event_id}/issue", json={"user_id": "dave"}).status_code == 201


def test_the_pre_queue_opens_when_the_event_says(
    http: httpx.Client, app_server: AppServer, event_id: str
) -> None:
    shuffled(app_server, event_id, 1, opens_in_s=60, prequeue_opens_at=_at(30))
    early = _join(http, event_id, "erin")
    assert (early.status_code, early.json()["result"]) == (409, "not_open")
    assert early.json()["prequeue_opens_at"]
    bad = http.post(
        "/v1/events",
        headers=app_server.admin,
        json={
            "event_id": event_id + "-x",
            "name": "x",
            "total_stock": 1,
            "opening": "shuffled",
            "starts_at": _at(60).isoformat(),
            "prequeue_opens_at": _at(90).isoformat(),
        },
    )
    assert (bad.status_code, bad.json()["result"]) == (422, "invalid")
    fifo = http.post(
        "/v1/events",
        headers=app_server.admin,
        json={"event_id": event_id + "-y", "name": "y", "total_stock": 1, "proof_bits": 4},
    )
    assert (fifo.status_code, fifo.json()["result"]) == (422, "invalid")
