"""The hot route, POST /v1/events/{E}/issue, as a lean ASGI handler.

It skips the framework's per-request machinery (routing, dependency injection,
response models); FastAPI still documents it in the OpenAPI schema (see web/api.py).
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

import orjson
from pydantic import ValidationError

from couponrush.core.codes import CodeSigner
from couponrush.core.errors import (
    BodyTooLarge,
    NotAuthenticated,
    NotYours,
    Overloaded,
    RetryableError,
)
from couponrush.core.event import rfc3339_ms
from couponrush.core.ids import EVENT_ID_MATCH, EVENT_ID_RULE
from couponrush.core.outcome import Outcome
from couponrush.logs import REQUEST_ID
from couponrush.web.identity import Identity
from couponrush.web.issuer import Issuer
from couponrush.web.metrics import Metrics
from couponrush.web.problems import (
    DETAILS,
    JSON,
    PROBLEM_JSON,
    STATUS,
    Receive,
    Scope,
    Send,
    is_json_content_type,
    problem,
    problem_for_errors,
    read_body,
    retry_after,
)
from couponrush.web.request_id import HEADER as REQUEST_ID_HEADER
from couponrush.web.request_id import RequestIds
from couponrush.web.request_id import usable as _usable_request_id
from couponrush.web.schemas import IssueClaim, IssueRequest

_ALLOW_POST = (b"allow", b"POST")
_CHALLENGE = (b"www-authenticate", b'Bearer error="invalid_token"')

Headers = tuple[tuple[bytes, bytes], ...]
# status, result code, payload, every header but the request id's. Built whole once per
# answer, so a frozen answer (sold out) is sent without building any of it again.
Reply = tuple[int, str, bytes, Headers]


def _reply(status: int, result: str, payload: bytes, ctype: bytes, *extra: tuple[bytes, bytes]
           ) -> Reply:  # fmt: skip
    length = (b"content-length", b"%d" % len(payload))
    return status, result, payload, ((b"content-type", ctype), length, *extra)


def _problem(status: int, result: str, detail: str, **extra: Any) -> Reply:
    return _reply(status, result, orjson.dumps(problem(status, result, detail, **extra)),
                  PROBLEM_JSON)  # fmt: skip


def _with(reply: Reply, *headers: tuple[bytes, bytes]) -> Reply:
    status, result, payload, found = reply
    return status, result, payload, (*found, *headers)


def win_body(signer: CodeSigner, event_id: str, user_id: str, outcome: Outcome) -> dict[str, Any]:
    return {
        "result": outcome.result,
        "event_id": event_id,
        "user_id": user_id,
        "slot": outcome.slot,
        "coupon_code": signer.code(event_id, outcome.slot, user_id),
        "issued_at": rfc3339_ms(outcome.issued_at_ms),
    }


def claimed_user(identity: Identity, authorization: bytes | None, named: str | None) -> str:
    """The token's user; a request naming someone else is refused (NotYours)."""
    user = identity.user(authorization)
    if named is not None and named != user:
        raise NotYours("the token is for another user")
    return user


class IssueEndpoint:
    def __init__(
        self, issuer: Issuer, signer: CodeSigner, metrics: Metrics, max_body: int, retry_s: int,
        ids: RequestIds,
        identity: Identity | None = None,
    ) -> None:  # fmt: skip
        self._issuer = issuer
        self._identity = identity
        # With a signed identity the body's user_id may be left out: the token names the user.
        self._request = IssueRequest if identity is None else IssueClaim
        self._signer = signer
        self._metrics = metrics
        self._max_body = max_body
        self._retry_after = retry_after(retry_s)
        # For requests that came without a usable id (the gateway always sends one).
        self._ids = ids
        # Frozen answers (sold out) per event, serialized once.
        self._frozen: dict[tuple[str, str], Reply] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send, event_id: str) -> None:
        started = perf_counter()
        content_type = length = raw_id = authorization = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                length = value
            elif name == REQUEST_ID_HEADER and _usable_request_id(value):
                raw_id = value
            elif name == b"authorization":
                authorization = value
        if raw_id is None:
            raw_id = self._ids.new()
        request_id = raw_id.decode()
        REQUEST_ID.set(request_id)
        reply = self._refusal(scope["method"], content_type, length, event_id)
        if reply is None:
            try:
                expected = int(length) if length and length.isdigit() else None
                raw = await read_body(receive, self._max_body, expected)
            except BodyTooLarge:
                reply = self._too_large()
            else:
                reply = await self._handle(event_id, raw, request_id, authorization)
        status, result, payload, headers = reply
        self._metrics.count_issue(result, perf_counter() - started)
        # Sent inline rather than through a helper: this is the hottest code in the service.
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (REQUEST_ID_HEADER, raw_id)],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    def _with_retry_after(self, reply: Reply) -> Reply:
        return _with(reply, self._retry_after)

    def _refusal(
        self, method: str, content_type: bytes | None, length: bytes | None, event_id: str
    ) -> Reply | None:
        """Answers that need no body: wrong method, media type, event id, or size."""
        if method != "POST":
            return _with(_problem(405, "method_not_allowed", "Use POST."), _ALLOW_POST)
        if not is_json_content_type(content_type):
            return _problem(415, "unsupported_media_type", "Send Content-Type: application/json.")
        if not EVENT_ID_MATCH(event_id):
            return _problem(422, "invalid", f"event_id must be {EVENT_ID_RULE}.")
        if length is not None and (not length.isdigit() or int(length) > self._max_body):
            return self._too_large()
        return None

    def _too_large(self) -> Reply:
        return _problem(413, "payload_too_large", f"The body is over {self._max_body} bytes.")

    async def _handle(
        self, event_id: str, raw: bytes, request_id: str, authorization: bytes | None
    ) -> Reply:
        try:
            user_id = self._request.model_validate_json(raw).user_id
        except ValidationError as exc:
            status, doc = problem_for_errors(exc.errors(include_url=False, include_input=False))
            return _reply(status, doc["result"], orjson.dumps(doc), PROBLEM_JSON)
        if self._identity is not None:
            try:
                user_id = claimed_user(self._identity, authorization, user_id)
            except NotAuthenticated as exc:
                return _with(_problem(401, "unauthorized", str(exc)), _CHALLENGE)
            except NotYours as exc:
                return _problem(403, "forbidden", str(exc))
            except RetryableError as exc:
                return self._with_retry_after(_problem(503, "unavailable", f"Try again: {exc}"))
        assert user_id is not None  # required by IssueRequest when no identity is used
        return await self._issue(event_id, user_id, request_id)

    async def _issue(self, event_id: str, user_id: str, request_id: str) -> Reply:
        try:
            outcome = await self._issuer.issue(event_id, user_id, request_id)
        except Overloaded as exc:
            return self._with_retry_after(_problem(503, "overloaded", f"Try again: {exc}"))
        except RetryableError as exc:
            return self._with_retry_after(_problem(503, "unavailable", f"Try again: {exc}"))
        if outcome.is_win:
            body = orjson.dumps(win_body(self._signer, event_id, user_id, outcome))
            return _reply(STATUS[outcome.result], outcome.result, body, JSON)
        if outcome.retry_after_ms:
            seconds = -(-outcome.retry_after_ms // 1000)
            limited = _problem(429, outcome.result, DETAILS[outcome.result], event_id=event_id)
            return _with(limited, retry_after(seconds))
        if not outcome.when_ms:
            key = (event_id, outcome.result)
            reply = self._frozen.get(key)
            if reply is None:
                reply = _problem(
                    STATUS[outcome.result],
                    outcome.result,
                    DETAILS[outcome.result],
                    event_id=event_id,
                )
                if outcome.result == "sold_out":
                    self._frozen[key] = reply
            return reply
        field = "starts_at" if outcome.result == "not_open" else "ends_at"
        return _problem(
            STATUS[outcome.result],
            outcome.result,
            DETAILS[outcome.result],
            event_id=event_id,
            **{field: rfc3339_ms(outcome.when_ms)},
        )
