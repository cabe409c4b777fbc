"""The issue route's replies, whole (web/issue.py): a status, a result code, a payload and
every header but the request id's, built once per answer so that a frozen answer (sold
out) is sent without building any of it again; a problem in the request's language with
its Content-Language."""

from __future__ import annotations

from typing import Any

import orjson

from couponrush.core.codes import CodeSigner
from couponrush.core.event import rfc3339_ms
from couponrush.core.outcome import Outcome
from couponrush.web.i18n import Detail, language_headers
from couponrush.web.problems import STATUS, problem

JSON, PROBLEM_JSON = "application/json", "application/problem+json"

Headers = tuple[tuple[str, str], ...]
# status, result code, payload, every header but the request id's.
Reply = tuple[int, str, bytes, Headers]


def reply(status: int, result: str, payload: bytes, ctype: str, *extra: tuple[str, str]) -> Reply:
    return (
        status,
        result,
        payload,
        (("content-type", ctype), ("content-length", str(len(payload))), *extra),
    )


def problem_in(
    status: int, result: str, detail: Detail | str | None, lang: str, **extra: Any
) -> Reply:
    """A problem in ``lang`` (``detail`` None: the result code's own)."""
    return problem_reply(status, result, problem(status, result, detail, lang, **extra), lang)


def problem_reply(status: int, result: str, body: dict[str, Any] | bytes, lang: str) -> Reply:
    payload = body if isinstance(body, bytes) else orjson.dumps(body)
    return reply(status, result, payload, PROBLEM_JSON, *language_headers(lang))


def sold_out_body(event_id: str, lang: str) -> bytes:
    """The 410 of a sold-out event, as the issue route answers it and the gateway's edge
    copies it byte for byte (web/feed.py hands it over)."""
    return orjson.dumps(problem(410, "sold_out", None, lang, event_id=event_id))


def with_headers(answer: Reply, *headers: tuple[str, str]) -> Reply:
    status, result, payload, found = answer
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


def not_admitted(event_id: str, outcome: Outcome, lang: str) -> Reply:
    """A shuffled opening's refusal: the user's place (null: not in the queue), the last
    place admitted, and Retry-After until its wave (docs/fair-opening.md)."""
    seconds = max(1, -(-outcome.retry_after_ms // 1000))
    refused = problem_in(
        STATUS["not_admitted"],
        "not_admitted",
        None,
        lang,
        event_id=event_id,
        position=outcome.position or None,
        admitted_upto=outcome.admitted_upto,
    )
    return with_headers(refused, ("retry-after", str(seconds)))
