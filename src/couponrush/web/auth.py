"""Who is asking: the bearer token of a request as a Principal (the bootstrap admin token
of the settings, or a scoped token from the database), what its scope allows, and the
audit record of what it does."""

from __future__ import annotations

import hmac

from fastapi.security import HTTPAuthorizationCredentials
from starlette.responses import Response

from couponrush.core.tokens import BOOTSTRAP, PREFIX, Permission, Principal
from couponrush.db.access import AuditRecord
from couponrush.logs import REQUEST_ID
from couponrush.web.responses import problem_response
from couponrush.web.wiring import Services

# Longer than any token this service makes: not looked up.
_MAX_TOKEN = 128


def bearer_matches(credentials: HTTPAuthorizationCredentials | None, expected: str) -> bool:
    """Constant-time comparison, so the time taken says nothing about the token."""
    token = credentials.credentials if credentials else ""
    return hmac.compare_digest(token.encode(), expected.encode())


async def principal_of(
    svc: Services, credentials: HTTPAuthorizationCredentials | None
) -> Principal | None:
    """The bootstrap admin token, or a stored token that is not revoked; else None."""
    if credentials is None or not credentials.credentials:
        return None
    if bearer_matches(credentials, svc.settings.admin_token.get_secret_value()):
        return BOOTSTRAP
    token = credentials.credentials
    if svc.season is None or not token.startswith(PREFIX) or len(token) > _MAX_TOKEN:
        return None
    return await svc.season.tokens.principal(token)


def draft(principal: Principal, action: str, target: str, **detail: object) -> AuditRecord:
    """The audit record of an action about to run; its status and result come when done."""
    return AuditRecord(principal, action, target, 0, "", REQUEST_ID.get() or "", dict(detail))


def unauthorized() -> Response:
    return problem_response(
        401,
        "unauthorized",
        "A valid bearer token is required.",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def permitted(
    svc: Services,
    credentials: HTTPAuthorizationCredentials | None,
    permission: Permission,
    action: str,
    target: str,
) -> Principal | Response:
    """The principal when its scope allows ``permission``; else the 401 or 403 to send
    (a 403 is audited: a known token tried what its scope does not allow)."""
    principal = await principal_of(svc, credentials)
    if principal is None:
        return unauthorized()
    if principal.may(permission):
        return principal
    if svc.season is not None:
        await svc.season.audit.add(draft(principal, action, target).ended(403, "forbidden"))
    detail = f"A {principal.scope} token cannot do this (it needs {permission})."
    return problem_response(403, "forbidden", detail)
