"""Where deployed, identity is signed unless allowed off on purpose: the app refuses
unsigned ids without the switch and tokens without an audience, and takes its keys from
the shop's JWKS URL (cached, fetched again for a new key id, so a rotated key works),
against a real key-set server on loopback."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from couponrush.core.errors import ConfigError
from couponrush.settings import Settings
from tests.fixtures.app import AppServer, app_env, running_app
from tests.helpers import create_event

OLD, NEW, ROGUE = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))


class KeySet(BaseHTTPRequestHandler):
    keys: ClassVar[list[dict[str, Any]]] = []
    fetches: ClassVar[int] = 0

    def do_GET(self) -> None:
        KeySet.fetches += 1
        body = json.dumps({"keys": KeySet.keys}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return {**found, "kid": kid, "use": "sig", "alg": "ES256"}


def _token(key: ec.EllipticCurvePrivateKey, kid: str, sub: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": sub, "iat": now, "exp": now + 300, "aud": "couponrush", **claims}
    return jwt.encode(body, key, algorithm="ES256", headers={"kid": kid})


@pytest.fixture(scope="module")
def jwks_app(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    KeySet.keys = [_jwk(OLD, "old")]
    server = ThreadingHTTPServer(("127.0.0.1", 0), KeySet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    work = tmp_path_factory.mktemp("jwks-app")
    admin, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    env = app_env(
        redis_url,
        admin,
        secret,
        work / "metrics",
        auth="jwt",
        jwt_jwks_url=f"http://127.0.0.1:{server.server_port}/jwks.json",
        jwt_audience="couponrush",
        allow_unsigned_users="false",
    )
    try:
        with running_app(env, work, workers=1) as url:
            yield AppServer(url, admin, secret, redis_url)
    finally:
        server.shutdown()
        server.server_close()


def _issue(app: AppServer, event_id: str, token: str) -> httpx.Response:
    return httpx.post(
        f"{app.url}/v1/events/{event_id}/issue",
        json={},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_keys_come_from_the_jwks_and_a_rotated_key_is_picked_up(
    jwks_app: AppServer, event_id: str
) -> None:
    create_event(jwks_app, event_id, 5)
    assert _issue(jwks_app, event_id, _token(OLD, "old", "ann")).status_code == 201
    # The shop rotates: the set gains the new key, tokens name it; no restart needed. The
    # set is fetched again for an unknown kid once the client's refresh cooldown is over
    # (a flood of made-up kids cannot make it fetch on every request).
    KeySet.keys = [_jwk(OLD, "old"), _jwk(NEW, "new")]
    deadline = time.monotonic() + 15
    while _issue(jwks_app, event_id, _token(NEW, "new", "bob")).status_code != 201:
        assert time.monotonic() < deadline, "the rotated key was never picked up"
        time.sleep(0.5)
    # Cached: a second token of a known key costs no fetch.
    fetched = KeySet.fetches
    assert _issue(jwks_app, event_id, _token(NEW, "new", "cy")).status_code == 201
    assert KeySet.fetches == fetched


def test_what_an_attacker_tries_is_refused(jwks_app: AppServer, event_id: str) -> None:
    create_event(jwks_app, event_id, 5)
    forged = _token(ROGUE, "new", "mallory")  # a known kid, signed with another key
    unknown = _token(ROGUE, "rogue", "mallory")  # a kid the set does not have
    other_service = _token(NEW, "new", "mallory", aud="another-service")
    now = int(time.time())
    no_aud = jwt.encode(
        {"sub": "mallory", "exp": now + 300}, NEW, algorithm="ES256", headers={"kid": "new"}
    )
    for token in (forged, unknown, other_service, no_aud):
        reply = _issue(jwks_app, event_id, token)
        assert reply.status_code == 401, reply.text
        assert reply.json()["result"] == "unauthorized"
    # Unsigned: a body naming a user without any token.
    bare = httpx.post(
        f"{jwks_app.url}/v1/events/{event_id}/issue", json={"user_id": "victim"}, timeout=10
    )
    assert bare.status_code == 401


def test_unsigned_ids_and_a_missing_audience_are_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ALLOW_UNSIGNED_USERS"):
        Settings(auth="none").check_identity()
    Settings(auth="none", allow_unsigned_users=True).check_identity()
    with pytest.raises(ConfigError, match="AUDIENCE"):
        Settings(auth="jwt", jwt_jwks_url="https://shop.example/jwks.json").check_identity()
    with pytest.raises(ConfigError, match="JWKS_URL"):
        Settings(auth="jwt", jwt_audience="couponrush").check_identity()


def test_a_pem_in_an_env_file_line_reads_as_pem() -> None:
    pem = "-----BEGIN PUBLIC KEY-----\\nabc\\n-----END PUBLIC KEY-----"
    assert Settings(jwt_public_key=pem).jwt_public_key.count("\n") == 2
