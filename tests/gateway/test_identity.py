"""With signed identity the gateway turns away issue requests that carry no bearer token,
before any worker sees them; a request with a token goes on to the app, which checks it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
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
    pool = start_pool(redis_url, tmp_path_factory.mktemp("signed"), 1, auth="jwt",
                      jwt_public_key=PUBLIC)  # fmt: skip
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
    forged = httpx.post(url, json={}, headers={"Authorization": "Bearer forged.token.x"},
                        timeout=10)  # fmt: skip
    assert (bare.status_code, bare.json()["result"]) == (401, "unauthorized")
    assert bare.headers["content-type"] == "application/problem+json"
    assert bare.headers["x-rejected-by"] == "gateway"
    assert bare.headers["www-authenticate"] == "Bearer"
    assert (forged.status_code, forged.json()["result"]) == (401, "unauthorized")
    assert "x-rejected-by" not in forged.headers  # the app's own answer
    assert signed_pool.issue_count("unauthorized") == before + 1  # only the forged one
    # Other routes are the app's to decide: reading an event needs no token.
    assert httpx.get(f"{gw.url}/v1/events/{event_id}", timeout=10).status_code == 200
