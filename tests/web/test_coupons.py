"""Coupons at checkout against real workers and PostgreSQL: verify, redeem once (also when
100 cashiers press at once), revoke, the winners export, and every bad input."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import httpx
import orjson
import pytest

from tests.fixtures.app import AppServer
from tests.fixtures.postgres import PgServer
from tests.helpers import create_event
from tests.web.season import bearer, call, make_token, persisted


def _problem(answer: httpx.Response, status: int, result: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["result"] == result


async def test_verify_shows_the_coupon_and_redeem_happens_once(
    db_app: AppServer, pg: PgServer, db: Any, event_id: str
) -> None:
    create_event(db_app, event_id, 3)
    codes = await persisted(pg, db_app, event_id, ["alice", "bob"])
    admin = db_app.admin_token
    seen = call(db_app, "GET", f"/v1/coupons/{codes['alice']}", admin).json()
    assert (seen["result"], seen["event_id"], seen["user_id"], seen["slot"]) == (
        "ok",
        event_id,
        "alice",
        1,
    )
    assert (seen["signature_valid"], seen["state"]) == (True, "issued")
    typed = codes["alice"].replace("-", "").lower()  # as a cashier may type it
    assert call(db_app, "GET", f"/v1/coupons/{typed}", admin).json() == seen
    path = f"/v1/coupons/{codes['alice']}/redeem"
    first = call(db_app, "POST", path, admin, json={"order_id": "order-1"})
    assert (first.status_code, first.json()["state"]) == (200, "redeemed")
    assert call(db_app, "POST", path, admin, json={"order_id": "order-1"}).json() == first.json()
    _problem(
        call(db_app, "POST", path, admin, json={"order_id": "order-2"}), 409, "already_redeemed"
    )
    _problem(
        call(db_app, "POST", f"/v1/coupons/{codes['alice']}/revoke", admin, json={"reason": "x"}),
        409,
        "already_redeemed",
    )
    revoke = f"/v1/coupons/{codes['bob']}/revoke"
    revoked = call(db_app, "POST", revoke, admin, json={"reason": "fraud"})
    assert (revoked.json()["state"], revoked.json()["revoke_reason"]) == ("revoked", "fraud")
    assert call(db_app, "POST", revoke, admin, json={"reason": "again"}).json() == revoked.json()
    _problem(
        call(db_app, "POST", f"/v1/coupons/{codes['bob']}/redeem", admin, json={"order_id": "o"}),
        409,
        "revoked",
    )
    row = await db.fetchrow(
        "SELECT state, order_id FROM coupon_issuances WHERE user_id = 'alice' AND event_id = $1",
        event_id,
    )
    assert (row["state"], row["order_id"]) == ("redeemed", "order-1")


async def test_100_concurrent_redeems_of_one_code_give_one_redemption(
    db_app: AppServer, pg: PgServer, db: Any, event_id: str
) -> None:
    create_event(db_app, event_id, 1)
    code = (await persisted(pg, db_app, event_id, ["carol"]))["carol"]
    redeemer = await make_token(pg, "redeemer", "till 7")
    url = f"{db_app.url}/v1/coupons/{code}/redeem"
    async with httpx.AsyncClient(headers=bearer(redeemer), timeout=60) as http:
        answers = await asyncio.gather(
            *(http.post(url, json={"order_id": "order-77"}) for _ in range(100))
        )
        other = await http.post(url, json={"order_id": "order-78"})
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1  # one answer, the same every time
    _problem(other, 409, "already_redeemed")
    done = await db.fetch(
        "SELECT detail FROM audit_log WHERE action = 'coupons.redeem' AND target = $1", code
    )
    changed = [orjson.loads(r["detail"])["changed"] for r in done]
    assert (len(done), changed.count(True)) == (101, 1)


def test_an_unknown_or_malformed_code_and_a_bad_body(db_app: AppServer) -> None:
    admin = db_app.admin_token
    _problem(call(db_app, "GET", "/v1/coupons/AAAA-BBBB-CCCC-DDDD", admin), 404, "not_found")
    _problem(
        call(
            db_app, "POST", "/v1/coupons/AAAA-BBBB-CCCC-DDDD/redeem", admin, json={"order_id": "o"}
        ),
        404,
        "not_found",
    )
    for bad in ("ABC", "AAAA-BBBB-CCCC-DDD1", "AAAA_BBBB_CCCC_DDDD"):
        _problem(call(db_app, "GET", f"/v1/coupons/{bad}", admin), 422, "invalid")
    path = "/v1/coupons/AAAA-BBBB-CCCC-DDDD/redeem"
    for body in (
        {},
        {"order_id": ""},
        {"order_id": "a b"},
        {"order_id": 7},
        {"order_id": "o", "more": 1},
    ):
        _problem(call(db_app, "POST", path, admin, json=body), 422, "invalid")
    _problem(
        call(
            db_app,
            "POST",
            path,
            admin,
            content=b'{"order_id":',
            headers={"Content-Type": "application/json"},
        ),
        400,
        "malformed_json",
    )
    _problem(
        call(db_app, "POST", "/v1/coupons/AAAA-BBBB-CCCC-DDDD/revoke", admin, json={"reason": ""}),
        422,
        "invalid",
    )
    _problem(call(db_app, "GET", "/v1/coupons/AAAA-BBBB-CCCC-DDDD"), 401, "unauthorized")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
async def test_the_winners_export_streams_every_winner(
    db_app: AppServer, pg: PgServer, event_id: str, fmt: str
) -> None:
    create_event(db_app, event_id, 5)
    codes = await persisted(pg, db_app, event_id, ["u1", "u2", "u3"])
    viewer = await make_token(pg, "viewer")
    answer = call(db_app, "GET", f"/v1/events/{event_id}/winners", viewer, params={"format": fmt})
    assert answer.status_code == 200, answer.text
    assert f'filename="{event_id}-winners.{fmt}"' in answer.headers["content-disposition"]
    if fmt == "csv":
        assert answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(answer.text)))
    else:
        assert answer.headers["content-type"] == "application/x-ndjson"
        rows = [orjson.loads(line) for line in answer.text.splitlines()]
    assert [(r["user_id"], int(r["slot"]), r["coupon_code"], r["state"]) for r in rows] == [
        (u, i + 1, codes[u], "issued") for i, u in enumerate(["u1", "u2", "u3"])
    ]
    assert all(r["issued_at"] for r in rows)


async def test_the_export_refuses_bad_inputs(
    db_app: AppServer, pg: PgServer, event_id: str
) -> None:
    create_event(db_app, event_id, 1)
    path = f"/v1/events/{event_id}/winners"
    admin = db_app.admin_token
    _problem(call(db_app, "GET", path, admin, params={"format": "xml"}), 422, "invalid")
    _problem(call(db_app, "GET", f"/v1/events/{event_id}-none/winners", admin), 404, "not_found")
    _problem(call(db_app, "GET", path), 401, "unauthorized")
    _problem(call(db_app, "GET", path, await make_token(pg, "redeemer")), 403, "forbidden")
