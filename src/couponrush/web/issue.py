"""The hot route, POST /v1/events/{E}/issue, as a lean handler under RSGI and ASGI alike.

It skips the framework's per-request machinery (routing, dependency injection, response
models); FastAPI still documents it in the OpenAPI schema (see web/api.py). ``answer``
holds the route; ``rsgi`` (what granian runs, see web/rsgi.py) and ``asgi`` only read the
request and send the reply. A canonical body (one ``user_id`` that is already valid) is
parsed with orjson alone; anything else goes through the model, which says what is wrong.

Every problem is in the request's language (``Accept-Language``, web/i18n.py: one dict
lookup per request). The answers that never change (a wrong method, media type or size,
an event id that cannot be, and each event's sold-out) are serialized once per language.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from time import perf_counter

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
from couponrush.core.ids import EVENT_ID_MATCH, USER_ID_RE
from couponrush.logs import REQUEST_ID
from couponrush.web.i18n import LANGUAGES, language, say
from couponrush.web.identity import Identity
from couponrush.web.issuer import Issuer
from couponrush.web.metrics import Metrics
from couponrush.web.problems import STATUS, is_json_content_type, problem_for_errors
from couponrush.web.replies import (
    JSON,
    Reply,
    not_admitted,
    problem_in,
    problem_reply,
    reply,
    sold_out_body,
    win_body,
    with_headers,
)
from couponrush.web.request_id import RequestIds
from couponrush.web.request_id import usable as _usable_request_id
from couponrush.web.schemas import IssueClaim, IssueRequest

_ALLOW_POST = ("allow", "POST")
_CHALLENGE = ("www-authenticate", 'Bearer error="invalid_token"')
_USER_ID = re.compile(USER_ID_RE).fullmatch

# What the route reads of a request's headers: Content-Type, Content-Length, X-Request-ID,
# Authorization and Accept-Language, as sent (None when absent).
Head = tuple[bytes | None, bytes | None, bytes | None, bytes | None, bytes | None]
# Reads the body: at most the limit (else BodyTooLarge), given the Content-Length if any.
BodyReader = Callable[[int, int | None], Awaitable[bytes]]


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
        # Frozen answers (sold out) per event and language, serialized once.
        self._frozen: dict[tuple[str, str], Reply] = {}
        self._fixed = {lang: self._fixed_replies(lang) for lang in LANGUAGES}

    def _fixed_replies(self, lang: str) -> dict[str, Reply]:
        """The refusals that name nothing of the request, in ``lang``."""
        return {
            "method": with_headers(
                problem_in(405, "method_not_allowed", say("use_method", allow="POST"), lang),
                _ALLOW_POST,
            ),
            "media": problem_in(415, "unsupported_media_type", None, lang),
            "event_id": problem_in(422, "invalid", say("event_id_rule"), lang),
            "size": problem_in(
                413, "payload_too_large", say("body_over", limit=self._max_body), lang
            ),
        }

    async def answer(
        self, method: str, head: Head, read: BodyReader, event_id: str
    ) -> tuple[Reply, str]:
        """The reply and the request id it echoes (the one sent when usable, else new)."""
        started = perf_counter()
        content_type, length, raw_id, authorization, accept = head
        request_id = raw_id.decode() if raw_id and _usable_request_id(raw_id) else self._ids.new()
        REQUEST_ID.set(request_id)
        lang = language(accept)
        fixed = self._fixed[lang]
        found = self._refusal(method, content_type, length, event_id, fixed)
        if found is None:
            try:
                raw = await read(self._max_body, int(length) if length else None)
            except BodyTooLarge:
                found = fixed["size"]
            else:
                found = await self._handle(event_id, raw, request_id, authorization, lang)
        self._metrics.count_issue(found[1], perf_counter() - started, event_id)
        return found, request_id

    def _refusal(
        self,
        method: str,
        content_type: bytes | None,
        length: bytes | None,
        event_id: str,
        fixed: dict[str, Reply],
    ) -> Reply | None:
        """Answers that need no body: wrong method, media type, event id, or size."""
        if method != "POST":
            return fixed["method"]
        if not is_json_content_type(content_type):
            return fixed["media"]
        if not EVENT_ID_MATCH(event_id):
            return fixed["event_id"]
        if length is not None and (not length.isdigit() or int(length) > self._max_body):
            return fixed["size"]
        return None

    async def _handle(
        self, event_id: str, raw: bytes, request_id: str, authorization: bytes | None, lang: str
    ) -> Reply:
        user_id = canonical_user(raw)
        if user_id is None:
            try:
                user_id = self._request.model_validate_json(raw).user_id
            except ValidationError as exc:
                errors = exc.errors(include_url=False, include_input=False)
                status, doc = problem_for_errors(errors, lang)
                return problem_reply(status, doc["result"], doc, lang)
        if self._identity is not None:
            try:
                user_id = claimed_user(self._identity, authorization, user_id)
            except NotAuthenticated as exc:
                return with_headers(problem_in(401, "unauthorized", str(exc), lang), _CHALLENGE)
            except NotYours as exc:
                return problem_in(403, "forbidden", str(exc), lang)
            except RetryableError as exc:
                return self._try_again("unavailable", exc, lang)
        assert user_id is not None  # required by IssueRequest when no identity is used
        return await self._issue(event_id, user_id, request_id, lang)

    def _try_again(self, result: str, exc: Exception, lang: str) -> Reply:
        return with_headers(problem_in(503, result, f"Try again: {exc}", lang), self._retry_after)

    async def _issue(self, event_id: str, user_id: str, request_id: str, lang: str) -> Reply:
        try:
            outcome = await self._issuer.issue(event_id, user_id, request_id)
        except Overloaded as exc:
            return self._try_again("overloaded", exc, lang)
        except RetryableError as exc:
            return self._try_again("unavailable", exc, lang)
        result = outcome.result
        if outcome.is_win:
            body = orjson.dumps(win_body(self._signer, event_id, user_id, outcome))
            return reply(STATUS[result], result, body, JSON)
        if result == "not_admitted":
            return not_admitted(event_id, outcome, lang)
        if outcome.retry_after_ms:
            seconds = -(-outcome.retry_after_ms // 1000)
            limited = problem_in(429, result, None, lang, event_id=event_id)
            return with_headers(limited, ("retry-after", str(seconds)))
        if not outcome.when_ms:
            return self._frozen_reply(event_id, result, lang)
        field = "starts_at" if result == "not_open" else "ends_at"
        when = {field: rfc3339_ms(outcome.when_ms)}
        return problem_in(STATUS[result], result, None, lang, event_id=event_id, **when)

    def _frozen_reply(self, event_id: str, result: str, lang: str) -> Reply:
        """not_found and sold_out; sold_out never changes again, so it is built once (per
        language)."""
        if result != "sold_out":
            return problem_in(STATUS[result], result, None, lang, event_id=event_id)
        found = self._frozen.get((event_id, lang))
        if found is None:
            found = problem_reply(410, result, sold_out_body(event_id, lang), lang)
            self._frozen[(event_id, lang)] = found
        return found
