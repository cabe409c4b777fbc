"""Signed user identity: the user id is the ``sub`` of a bearer JWT the shop signed.

Only asymmetric algorithms are accepted (the settings refuse others), so this service holds
public keys it cannot sign with: one PEM key, or the shop's JWKS (PyJWT's PyJWKClient:
cached for ``jwt_jwks_cache_s``, fetched again for a key id it has not seen, so a rotated
key is picked up at its first token). ``aud`` is required and checked. A verified token is
remembered until it expires, so a client's retries cost one signature check.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

import jwt

from couponrush.core.errors import IdentityUnavailable, NotAuthenticated
from couponrush.core.ids import USER_ID_MATCH
from couponrush.settings import Settings

_CACHE = 65_536
_JWKS_TIMEOUT_S = 5
# An unknown kid fetches the set again at most this often: a rotated key is seen within
# it, and a flood of made-up kids cannot make every request a fetch.
_JWKS_COOLDOWN_S = 5


class Identity:
    def __init__(
        self,
        key: str | jwt.PyJWKClient,
        algorithms: list[str],
        issuer: str,
        audience: str,
        leeway_s: int,
    ) -> None:
        self._key = key
        self._algorithms = algorithms
        self._issuer = issuer or None
        self._audience = audience
        self._leeway_s = leeway_s
        self._verified: OrderedDict[bytes, tuple[str, float]] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings) -> Identity | None:
        if settings.auth != "jwt":
            return None
        settings.check_identity()
        key: str | jwt.PyJWKClient = settings.jwt_key()
        if settings.jwt_jwks_url:
            key = jwt.PyJWKClient(
                settings.jwt_jwks_url,
                lifespan=settings.jwt_jwks_cache_s,
                timeout=_JWKS_TIMEOUT_S,
                cooldown_duration=_JWKS_COOLDOWN_S,
            )
        return cls(
            key,
            settings.jwt_algorithms,
            settings.jwt_issuer,
            settings.jwt_audience,
            settings.jwt_leeway_s,
        )

    def user(self, authorization: bytes | None) -> str:
        """The user id a ``Bearer`` header proves, or NotAuthenticated saying why."""
        scheme, _, token = (authorization or b"").partition(b" ")
        if scheme.lower() != b"bearer" or not token:
            raise NotAuthenticated("a bearer token is required")
        known = self._verified.get(token)
        if known is not None and known[1] > time.time() - self._leeway_s:
            return known[0]
        user, expires = self._verify(token)
        self._verified[token] = (user, expires)
        if len(self._verified) > _CACHE:
            self._verified.popitem(last=False)
        return user

    def _verify(self, token: bytes) -> tuple[str, float]:
        try:
            claims = jwt.decode(
                token,
                self._signing_key(token),
                algorithms=self._algorithms,
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway_s,
                options={"require": ["sub", "exp", "aud"]},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise IdentityUnavailable(f"the key set could not be fetched: {exc}") from exc
        except jwt.PyJWTError as exc:
            raise NotAuthenticated(f"the token is not valid: {exc}") from exc
        user = claims["sub"]
        if not isinstance(user, str) or not USER_ID_MATCH(user):
            raise NotAuthenticated("the token's sub is not a valid user id")
        return user, float(claims["exp"])

    def _signing_key(self, token: bytes) -> Any:
        """The PEM key, or the JWKS key the token's ``kid`` names (PyJWKClientError, a
        PyJWTError, when the set has none such or cannot be fetched)."""
        if isinstance(self._key, str):
            return self._key
        return self._key.get_signing_key_from_jwt(token).key
