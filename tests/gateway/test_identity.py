"""With signed identity the gateway turns away issue requests that carry no bearer token,
before any worker sees them; a request with a token goes on to the app, which checks it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.gateway.conftest import AppPool, GatewayFactory, start_pool, stop_pool
from tests.helpers import create_event

KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC = (
    KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


@pytest.fixture(scope="module")
def signed_pool(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppPool]:
    pool = start_pool(
        redis_url,
        tmp_path_factory.mktemp("signed"),
        1,
        auth="jwt",
        jwt_public_key=PUBLIC,
        jwt_audience="couponrush",
    )
    yield pool
    stop_pool(pool)


def test_no_token_stops_at_the_gateway_a_bad_one_at_the_app(
    signed_pool: AppPool, start_gateway: GatewayFactory, event_id: str
) -> None:
    create_event(signed_pool, event_id, 5)
    gw = start_gateway(signed_pool, auth="jwt")
    url = f"{gw.url}/v1/events/{event_id}/issue"
    before = signed_pool.issue_count("unauthorized")
    bare = httpx.post(url, json={"user_id": "alice"}, timeout=10)
    forged = httpx.post(
        url, json={}, headers={"Authorization": "Bearer forged.token.x"}, timeout=10
    )
    assert (bare.status_code, bare.json()["result"]) == (401, "unauthorized")
    assert bare.headers["content-type"] == "application/problem+json"
    assert bare.headers["x-rejected-by"] == "gateway"
    assert bare.headers["www-authenticate"] == "Bearer"
    assert (forged.status_code, forged.json()["result"]) == (401, "unauthorized")
    assert "x-rejected-by" not in forged.headers  # the app's own answer
    assert signed_pool.issue_count("unauthorized") == before + 1  # only the forged one
    # Other routes are the app's to decide: reading an event needs no token.
    assert httpx.get(f"{gw.url}/v1/events/{event_id}", timeout=10).status_code == 200


def _signed(sub: str) -> dict[str, str]:
    now = int(time.time())
    body = {"sub": sub, "iat": now, "exp": now + 300, "aud": "couponrush"}
    return {"Authorization": f"Bearer {jwt.encode(body, KEY, algorithm='ES256')}"}


def test_the_edge_answers_nothing_it_cannot_verify_under_signed_identity(
    signed_pool: AppPool, start_gateway: GatewayFactory, event_id: str
) -> None:
    create_event(signed_pool, event_id, 1)
    gw = start_gateway(signed_pool, auth="jwt")
    url = f"{gw.url}/v1/events/{event_id}/issue"
    assert httpx.post(url, json={}, headers=_signed("alice"), timeout=10).status_code == 201
    # Sold out. Several edge polls later, a forged token naming a non-winner still reaches
    # the app (401), and a real non-winner gets the app's 410, not the gateway's.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        forged = httpx.post(
            url, json={"user_id": "mallory"}, headers={"Authorization": "Bearer x.y.z"}, timeout=10
        )
        assert (forged.status_code, forged.headers.get("x-rejected-by")) == (401, None)
        late = httpx.post(url, json={}, headers=_signed("bob"), timeout=10)
        assert (late.status_code, late.headers.get("x-rejected-by")) == (410, None)
        time.sleep(0.5)
