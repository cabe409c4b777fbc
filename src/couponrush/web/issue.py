"""The hot route, POST /v1/events/{E}/issue, as a lean handler under RSGI and ASGI alike.

It skips the framework's per-request machinery (routing, dependency injection, response
models); FastAPI still documents it in the OpenAPI schema (see web/api.py). ``answer``
holds the route; ``rsgi`` (what granian runs, see web/rsgi.py) and ``asgi`` only read the
request and send the reply. A canonical body (one ``user_id`` that is already valid) is
parsed with orjson alone; anything else goes through the model, which says what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
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
from couponrush.core.ids import EVENT_ID_MATCH, EVENT_ID_RULE, USER_ID_RE
from couponrush.core.outcome import Outcome
from couponrush.logs import REQUEST_ID
from couponrush.web.identity import Identity
from couponrush.web.issuer import Issuer
from couponrush.web.metrics import Metrics
from couponrush.web.problems import (
    DETAILS,
    STATUS,
    is_json_content_type,
    problem,
    problem_for_errors,
)
from couponrush.web.request_id import RequestIds
from couponrush.web.request_id import usable as _usable_request_id
from couponrush.web.schemas import IssueClaim, IssueRequest

_ALLOW_POST = ("allow", "POST")
_CHALLENGE = ("www-authenticate", 'Bearer error="invalid_token"')
_JSON, _PROBLEM_JSON = "application/json", "application/problem+json"
_USER_ID = re.compile(USER_ID_RE).fullmatch

Headers = tuple[tuple[str, str], ...]
# status, result code, payload, every header but the request id's. Built whole once per
# answer, so a frozen answer (sold out) is sent without building any of it again.
Reply = tuple[int, str, bytes, Headers]
# What the route reads of a request's headers: Content-Type, Content-Length, X-Request-ID
# and Authorization, as sent (None when absent).
Head = tuple[bytes | None, bytes | None, bytes | None, bytes | None]
# Reads the body: at most the limit (else BodyTooLarge), given the Content-Length if any.
BodyReader = Callable[[int, int | None], Awaitable[bytes]]


def _reply(status: int, result: str, payload: bytes, ctype: str, *extra: tuple[str, str]) -> Reply:
    return (
        status,
        result,
        payload,
        (("content-type", ctype), ("content-length", str(len(payload))), *extra),
    )


def _problem(status: int, result: str, detail: str, **extra: Any) -> Reply:
    return _reply(
        status, result, orjson.dumps(problem(status, result, detail, **extra)), _PROBLEM_JSON
    )


def _with(reply: Reply, *headers: tuple[str, str]) -> Reply:
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


def not_admitted(event_id: str, outcome: Outcome) -> Reply:
    """A shuffled opening's refusal: the user's place (null: not in the queue), the last
    place admitted, and Retry-After until its wave (docs/fair-opening.md)."""
    seconds = max(1, -(-outcome.retry_after_ms // 1000))
    refused = _problem(
        STATUS["not_admitted"],
        "not_admitted",
        DETAILS["not_admitted"],
        event_id=event_id,
        position=outcome.position or None,
        admitted_upto=outcome.admitted_upto,
    )
    return _with(refused, ("retry-after", str(seconds)))


def claimed_user(identity: Identity, authorization: bytes | None, named: str | None) -> str:
    """The token's user; a request naming someone else is refused (NotYours)."""
    user = identity.user(authorization)
    if named is not None and named != user:
        raise NotYours("the token is for another user")
    return user


def canonical_user(raw: bytes) -> str | None:
    """The user id of a body that is exactly one valid ``user_id`` (what every client
    sends), parsed once with orjson; None for anything the model must judge."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(doc) is not dict or len(doc) != 1:
        return None
    user = doc.get("user_id")
    return user if type(user) is str and _USER_ID(user) else None


class IssueEndpoint:
    def __init__(
        self,
        issuer: Issuer,
        signer: CodeSigner,
        metrics: Metrics,
        max_body: int,
        retry_s: int,
        ids: RequestIds,
        identity: Identity | None = None,
    ) -> None:
        self._issuer = issuer
        self._identity = identity
        # With a signed identity the body's user_id may be left out: the token names the user.
        self._request = IssueRequest if identity is None else IssueClaim
        self._signer = signer
        self._metrics = metrics
        self._max_body = max_body
        self._retry_after = ("retry-after", str(retry_s))
        # For requests that came without a usable id (the gateway always sends one).
        self._ids = ids
        # Frozen answers (sold out) per event, serialized once.
        self._frozen: dict[tuple[str, str], Reply] = {}

    async def answer(
        self, method: str, head: Head, read: BodyReader, event_id: str
    ) -> tuple[Reply, str]:
        """The reply and the request id it echoes (the one sent when usable, else new)."""
        started = perf_counter()
        content_type, length, raw_id, authorization = head
        request_id = raw_id.decode() if raw_id and _usable_request_id(raw_id) else self._ids.new()
        REQUEST_ID.set(request_id)
        reply = self._refusal(method, content_type, length, event_id)
        if reply is None:
            try:
                raw = await read(self._max_body, int(length) if length else None)
            except BodyTooLarge:
                reply = self._too_large()
            else:
                reply = await self._handle(event_id, raw, request_id, authorization)
        self._metrics.count_issue(reply[1], perf_counter() - started, event_id)
        return reply, request_id

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
        user_id = canonical_user(raw)
        if user_id is None:
            try:
                user_id = self._request.model_validate_json(raw).user_id
            except ValidationError as exc:
                status, doc = problem_for_errors(exc.errors(include_url=False, include_input=False))
                return _reply(status, doc["result"], orjson.dumps(doc), _PROBLEM_JSON)
        if self._identity is not None:
            try:
                user_id = claimed_user(self._identity, authorization, user_id)
            except NotAuthenticated as exc:
                return _with(_problem(401, "unauthorized", str(exc)), _CHALLENGE)
            except NotYours as exc:
                return _problem(403, "forbidden", str(exc))
            except RetryableError as exc:
                return _with(_problem(503, "unavailable", f"Try again: {exc}"), self._retry_after)
        assert user_id is not None  # required by IssueRequest when no identity is used
        return await self._issue(event_id, user_id, request_id)

    async def _issue(self, event_id: str, user_id: str, request_id: str) -> Reply:
        try:
            outcome = await self._issuer.issue(event_id, user_id, request_id)
        except Overloaded as exc:
            return _with(_problem(503, "overloaded", f"Try again: {exc}"), self._retry_after)
        except RetryableError as exc:
            return _with(_problem(503, "unavailable", f"Try again: {exc}"), self._retry_after)
        if outcome.is_win:
            body = orjson.dumps(win_body(self._signer, event_id, user_id, outcome))
            return _reply(STATUS[outcome.result], outcome.result, body, _JSON)
        if outcome.result == "not_admitted":
            return not_admitted(event_id, outcome)
        if outcome.retry_after_ms:
            seconds = -(-outcome.retry_after_ms // 1000)
            limited = _problem(429, outcome.result, DETAILS[outcome.result], event_id=event_id)
            return _with(limited, ("retry-after", str(seconds)))
        if not outcome.when_ms:
            return self._frozen_reply(event_id, outcome.result)
        field = "starts_at" if outcome.result == "not_open" else "ends_at"
        return _problem(
            STATUS[outcome.result],
            outcome.result,
            DETAILS[outcome.result],
            event_id=event_id,
            **{field: rfc3339_ms(outcome.when_ms)},
        )

    def _frozen_reply(self, event_id: str, result: str) -> Reply:
        """not_found and sold_out; sold_out never changes again, so it is built once."""
        reply = self._frozen.get((event_id, result))
        if reply is None:
            reply = _problem(STATUS[result], result, DETAILS[result], event_id=event_id)
            if result == "sold_out":
                self._frozen[(event_id, result)] = reply
        return reply
