"""API tokens: their scopes, what each scope may do, and how a token is made and stored.

A token is 32 random bytes (URL-safe text behind a ``crt_`` prefix); only its SHA-256 is
stored. A slow hash buys nothing for a secret of 256 random bits, and a plain digest can
be looked up by an index.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

Scope = Literal["admin", "redeemer", "viewer"]
SCOPES: tuple[Scope, ...] = ("admin", "redeemer", "viewer")
Permission = Literal[
    "events:write",
    "coupons:read",
    "coupons:redeem",
    "coupons:revoke",
    "events:export",
    "audit:read",
]

# admin: everything; redeemer: verify and redeem at checkout; viewer: read and export.
ALLOWED: dict[Scope, frozenset[Permission]] = {
    "admin": frozenset(
        (
            "events:write",
            "coupons:read",
            "coupons:redeem",
            "coupons:revoke",
            "events:export",
            "audit:read",
        )
    ),
    "redeemer": frozenset(("coupons:read", "coupons:redeem")),
    "viewer": frozenset(("coupons:read", "events:export", "audit:read")),
}
PREFIX = "crt_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request: a stored token (``token_id``), or the bootstrap admin token of
    the settings (``token_id`` None)."""

    token_id: int | None
    name: str
    scope: Scope

    def may(self, permission: Permission) -> bool:
        return permission in ALLOWED[self.scope]


BOOTSTRAP = Principal(None, "bootstrap", "admin")


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
