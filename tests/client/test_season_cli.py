"""``couponrush events`` and ``coupons`` through the SDK, against real workers with a
database: what an operator types during a season."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from tests.fixtures.app import AppServer
from tests.fixtures.postgres import PgServer
from tests.helpers import create_event, run_cli
from tests.web.season import persisted


async def test_an_operator_lists_tops_up_closes_exports_and_redeems(
    db_app: AppServer, pg: PgServer, event_id: str, tmp_path: Path
) -> None:
    create_event(db_app, event_id, 2)
    codes = await persisted(pg, db_app, event_id, ["alice"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONRUSH_")}
    env.update(COUPONRUSH_VAR_DIR=str(tmp_path / "var"), COUPONRUSH_API_TOKEN=db_app.admin_token)
    at = ["--url", db_app.url]
    topped = run_cli(["events", "top-up", event_id, "--add", "3", *at], env, check=True)
    assert json.loads(topped.stdout)["total_stock"] == 5
    closed = run_cli(["events", "close", event_id, *at], env, check=True)
    assert json.loads(closed.stdout)["status"] == "closed"
    listed = run_cli(
        ["events", "list", "--status", "closed", "--json", "--limit", "100", *at], env, check=True
    )
    assert event_id in [e["event_id"] for e in json.loads(listed.stdout)["items"]]
    out = tmp_path / "winners.csv"
    exported = run_cli(["events", "export", event_id, "--out", str(out), *at], env, check=True)
    assert "exported 1 winners" in exported.stderr
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [(r["user_id"], r["coupon_code"]) for r in rows] == [("alice", codes["alice"])]
    code = codes["alice"]
    redeemed = run_cli(["coupons", "redeem", code, "--order", "o-1", *at], env, check=True)
    assert json.loads(redeemed.stdout)["state"] == "redeemed"
    other = run_cli(["coupons", "redeem", code, "--order", "o-2", *at], env)
    assert (other.returncode, json.loads(other.stdout)["result"]) == (1, "already_redeemed")
