"""Scoped tokens and the audit trail against real workers and PostgreSQL: what each scope
may do, a revocation that counts at once, and who did what in GET /v1/audit."""

from __future__ import annotations

import json
from typing import Any

from tests.fixtures.app import AppServer
from tests.fixtures.postgres import PgServer
from tests.helpers import run_cli
from tests.web.season import call, cli_env, cli_token, make_token


def _create(app: AppServer, token: str | None, event_id: str, request_id: str = "rq-1") -> Any:
    body = {"event_id": event_id, "name": "Scoped", "total_stock": 2}
    return call(app, "POST", "/v1/events", token, json=body, headers={"X-Request-ID": request_id})


def _audit(app: AppServer, token: str, **params: Any) -> list[dict[str, Any]]:
    answer = call(app, "GET", "/v1/audit", token, params=params)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_each_scope_does_what_it_may_and_the_audit_says_who(
    db_app: AppServer, pg: PgServer, event_id: str
) -> None:
    redeemer = await make_token(pg, "redeemer", "till 1")
    viewer = await make_token(pg, "viewer", "analyst")
    admin = await make_token(pg, "admin", "ops")
    denied = _create(db_app, redeemer, event_id, "rq-denied")
    assert (denied.status_code, denied.json()["result"]) == (403, "forbidden")
    assert _create(db_app, viewer, event_id).status_code == 403
    created = _create(db_app, admin, event_id, "rq-made")
    assert created.status_code == 201, created.text
    assert _create(db_app, db_app.admin_token, event_id).status_code == 200  # bootstrap stays
    assert call(db_app, "GET", f"/v1/events/{event_id}/winners", viewer).status_code == 200
    assert call(db_app, "GET", "/v1/audit", redeemer).status_code == 403
    who = call(db_app, "GET", "/v1/tokens/current", redeemer).json()
    assert (who["name"], who["scope"]) == ("till 1", "redeemer")
    rows = _audit(db_app, viewer, target=event_id, limit=10)
    seen = [(r["token_name"], r["scope"], r["action"], r["status"], r["request_id"]) for r in rows]
    assert ("till 1", "redeemer", "events.create", 403, "rq-denied") in seen
    assert ("ops", "admin", "events.create", 201, "rq-made") in seen
    assert ("bootstrap", "admin", "events.create", 200, "rq-1") in seen
    assert ("analyst", "viewer", "events.export", 200) in [s[:4] for s in seen]
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)


def test_a_revoked_token_is_refused_at_once(db_app: AppServer, pg: PgServer, event_id: str) -> None:
    admin = cli_token(pg, "admin", "to be revoked")
    assert _create(db_app, admin, event_id).status_code == 201
    env = cli_env(pg)
    listed = json.loads(run_cli(["tokens", "list", "--json"], env, check=True).stdout)
    mine = next(t for t in listed if t["name"] == "to be revoked")
    assert admin not in json.dumps(listed)  # only its hash is kept
    run_cli(["tokens", "revoke", str(mine["id"])], env, check=True)
    assert _create(db_app, admin, f"{event_id}-2").status_code == 401
    bad = run_cli(["tokens", "create", "--scope", "root"], env)
    assert bad.returncode == 2
    assert bad.stdout == ""


def test_the_audit_pages_and_refuses_bad_queries(db_app: AppServer, event_id: str) -> None:
    admin = db_app.admin_token
    for i in range(3):
        _create(db_app, admin, f"{event_id}-{i}")
    first = call(db_app, "GET", "/v1/audit", admin, params={"limit": 2}).json()
    assert len(first["items"]) == 2
    second = call(
        db_app, "GET", "/v1/audit", admin, params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert second["items"][0]["id"] < first["items"][-1]["id"]
    for query in ({"limit": 0}, {"limit": 501}, {"cursor": "***"}, {"action": ""}):
        answer = call(db_app, "GET", "/v1/audit", admin, params=query)
        assert (answer.status_code, answer.json()["result"]) == (422, "invalid"), query
    assert call(db_app, "GET", "/v1/audit").status_code == 401
    assert call(db_app, "GET", "/v1/tokens/current").status_code == 401
