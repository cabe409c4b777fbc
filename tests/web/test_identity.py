"""Signed user identity (COUPONRUSH_AUTH=jwt): the token's sub is the user, and no one
claims or reads a coupon for someone else."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.fixtures.app import AppServer, app_env, running_app
from tests.helpers import create_event

SHOP_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())


def _public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def token(sub: str, key: Any = SHOP_KEY, expires_in: int = 300, **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": sub, "iat": now, "exp": now + expires_in, "aud": "couponrush", **claims}
    return jwt.encode(body, key, algorithm="ES256")


@pytest.fixture(scope="module")
def jwt_app(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    work = tmp_path_factory.mktemp("jwt-app")
    admin, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    env = app_env(
        redis_url,
        admin,
        secret,
        work / "metrics",
        auth="jwt",
        jwt_public_key=_public_pem(SHOP_KEY),
        jwt_audience="couponrush",
    )
    with running_app(env, work, workers=1) as url:
        yield AppServer(url, admin, secret, redis_url)


def _issue(app: AppServer, event_id: str, bearer: str | None, body: dict[str, str]) -> Any:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return httpx.post(
        f"{app.url}/v1/events/{event_id}/issue", json=body, headers=headers, timeout=10
    )


def test_the_token_names_the_user_and_a_retry_gets_the_same_coupon(
    jwt_app: AppServer, event_id: str
) -> None:
    create_event(jwt_app, event_id, 5)
    first = _issue(jwt_app, event_id, token("alice"), {})
    again = _issue(jwt_app, event_id, token("alice"), {"user_id": "alice"})
    assert (first.status_code, first.json()["user_id"]) == (201, "alice")
    assert (again.status_code, again.json()["coupon_code"]) == (200, first.json()["coupon_code"])


# Made when the test runs, not when it is collected: a token minted minutes earlier in a
# long suite could have expired by then.
BEARERS: dict[str, tuple[Callable[[], str | None], int]] = {
    "none": (lambda: None, 401),
    "garbage": (lambda: "not-a-token", 401),
    "expired": (lambda: token("alice", expires_in=-120), 401),
    "forged": (lambda: token("alice", key=OTHER_KEY), 401),
    "audience": (lambda: token("alice", aud="elsewhere"), 401),
    "symmetric": (lambda: jwt.encode({"sub": "alice", "exp": 2**31}, "k" * 32, algorithm="HS256"),
                  401),
    "bad-sub": (lambda: token("bad user id!"), 401),
    "other": (lambda: token("mallory"), 403),
}  # fmt: skip


@pytest.mark.parametrize("case", BEARERS)
def test_no_one_claims_a_coupon_for_someone_else(
    jwt_app: AppServer, event_id: str, case: str
) -> None:
    make, status = BEARERS[case]
    create_event(jwt_app, event_id, 5)
    with httpx.Client(base_url=jwt_app.url, timeout=10) as http:
        response = _issue(jwt_app, event_id, make(), {"user_id": "alice"})
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["result"] == ("unauthorized" if status == 401 else "forbidden")
        if status == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")
        held = http.get(
            f"/v1/events/{event_id}/issuances/alice",
            headers={"Authorization": f"Bearer {token('alice')}"},
        )
        assert held.status_code == 404  # nothing was issued to alice


def test_a_coupon_is_read_by_its_holder_only(jwt_app: AppServer, event_id: str) -> None:
    create_event(jwt_app, event_id, 5)
    with httpx.Client(base_url=jwt_app.url, timeout=10) as http:
        assert _issue(jwt_app, event_id, token("bob"), {}).status_code == 201
        path = f"/v1/events/{event_id}/issuances/bob"
        mine = http.get(path, headers={"Authorization": f"Bearer {token('bob')}"})
        theirs = http.get(path, headers={"Authorization": f"Bearer {token('eve')}"})
        anonymous = http.get(path)
    assert (mine.status_code, theirs.status_code, anonymous.status_code) == (200, 403, 401)


def test_the_document_names_the_user_token_only_when_it_is_needed(
    jwt_app: AppServer, app_server: AppServer
) -> None:
    signed = httpx.get(f"{jwt_app.url}/openapi.json", timeout=10).json()
    plain = httpx.get(f"{app_server.url}/openapi.json", timeout=10).json()
    path = "/v1/events/{event_id}/issue"
    assert signed["paths"][path]["post"]["security"] == [{"UserToken": []}]
    assert {"401", "403"} <= set(signed["paths"][path]["post"]["responses"])
    assert signed["components"]["securitySchemes"]["UserToken"]["bearerFormat"] == "JWT"
    assert "security" not in plain["paths"][path]["post"]
    assert not {"401", "403"} & set(plain["paths"][path]["post"]["responses"])
