"""``couponrush issue`` and ``event show`` through the SDK, against real app workers."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.client.scripted import Script, scripted_server
from tests.fixtures.app import AppServer
from tests.helpers import create_event, run_cli


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONRUSH_")}
    env["COUPONRUSH_VAR_DIR"] = str(tmp_path / "var")  # no local stack here
    return env


def test_issue_prints_one_final_outcome_and_exits_0_only_for_a_coupon(
    app_server: AppServer, event_id: str, tmp_path: Path
) -> None:
    create_event(app_server, event_id, 1)
    env, url = _env(tmp_path), ["--url", app_server.url]
    won = run_cli(["issue", event_id, "alice", "--json", "--request-id", "cli-1", *url], env)
    assert won.returncode == 0, won.stderr
    body = json.loads(won.stdout)
    assert (body["result"], body["final"], body["status"], body["request_id"]) == (
        "issued",
        True,
        201,
        "cli-1",
    )
    assert body["coupon"]["slot"] == 1
    assert [a["status"] for a in body["attempts"]] == [201]
    again = run_cli(["issue", event_id, "alice", *url], env)
    assert again.returncode == 0
    assert body["coupon"]["coupon_code"] in again.stdout
    assert "the same coupon as before" in again.stdout
    lost = run_cli(["issue", event_id, "bob", "--json", *url], env)
    assert lost.returncode == 1
    assert json.loads(lost.stdout)["result"] == "sold_out"
    missing = run_cli(["issue", f"{event_id}-none", "bob", *url], env)
    assert missing.returncode == 1
    assert '"not_found"' in missing.stdout
    shown = run_cli(["event", "show", event_id, *url], env)
    assert json.loads(shown.stdout)["remaining"] == 0


def test_issue_waits_out_retry_after(tmp_path: Path) -> None:
    win = {
        "result": "issued",
        "event_id": "e1",
        "user_id": "u1",
        "slot": 4,
        "coupon_code": "ABCD-EFGH",
        "issued_at": "2026-11-24T16:00:00.000Z",
    }
    limited = {
        "type": "x",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "slow",
        "result": "rate_limited",
    }
    script = Script([(429, {"Retry-After": "1"}, limited), (201, {}, win)])
    with scripted_server(script) as url:
        done = run_cli(["issue", "e1", "u1", "--json", "--url", url], _env(tmp_path))
    assert done.returncode == 0, done.stderr
    first, last = json.loads(done.stdout)["attempts"]
    assert (first["status"], first["retry_after_s"], last["status"]) == (429, 1.0, 201)
    assert first["wait_s"] >= 1.0
    assert script.seen[1][0] - script.seen[0][0] >= 1.0
