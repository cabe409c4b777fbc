"""The RSGI entry: a client that leaves mid-body is nobody's error, on the issue route and
on the bridged ones alike."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

import httpx

from tests.fixtures.app import app_env, running_app


def _leave_mid_body(url: str, path: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        sock.sendall(f"{head}Content-Length: 100\r\n\r\n".encode() + b'{"user_id')


def test_a_client_that_leaves_mid_body_leaves_no_error_behind(
    redis_url: str, tmp_path: Path
) -> None:
    env = app_env(redis_url, "t" * 24, secrets.token_urlsafe(32), tmp_path / "metrics")
    with running_app(env, tmp_path, workers=1) as url:
        for _ in range(3):
            _leave_mid_body(url, "/v1/events/e1/issue")
            _leave_mid_body(url, "/v1/events")
        answer = httpx.post(f"{url}/v1/events/e1/issue", json={"user_id": "u"}, timeout=5)
        assert answer.json()["result"] == "not_found"
    log = (tmp_path / "app.log").read_text()
    assert "ProtocolClosed" not in log
    assert "Traceback" not in log
