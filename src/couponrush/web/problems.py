"""RFC 9457 problem bodies, the one table of result -> HTTP status, and the raw-ASGI
senders used by the lean routes.

A body is in the request's language (web/i18n.py): its ``title`` names the result code
(in English it stays the status's reason phrase, as it always was) and its ``detail`` is
the code's, or a ``Detail`` naming a value; a detail given as plain English text (an
exception's) stays as it is in English and is the code's own detail in other languages.
The ``result`` code and every other member are the same in every language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson

from couponrush.core.errors import BodyTooLarge
from couponrush.web.i18n import DEFAULT, LANGUAGE, Detail, catalogue, language_headers, say

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Scope = MutableMapping[str, Any]
Headers = list[tuple[bytes, bytes]]

_PHRASES = {s.value: s.phrase for s in HTTPStatus}
JSON = b"application/json"
PROBLEM_JSON = b"application/problem+json"

# Every result code the app answers with and its status: the issue route's first, then
# the other routes'. Each has a title and a detail in every catalogue (a test holds them).
STATUS = {
    "issued": 201, "already_issued": 200, "not_found": 404, "not_open": 409, "closed": 409,
    "sold_out": 410, "rate_limited": 429, "unavailable": 503, "overloaded": 503,
    "invalid": 422, "malformed_json": 400, "payload_too_large": 413,
    "unsupported_media_type": 415, "method_not_allowed": 405, "unauthorized": 401,
    "forbidden": 403,
    "exists": 409, "already_started": 409, "stock_lowered": 409, "not_finished": 409,
    "archived": 409, "already_redeemed": 409, "revoked": 409, "bad_signature": 409,
    "http_error": 500, "not_admitted": 409, "no_queue": 409, "bad_proof": 422,
}  # fmt: skip


def problem(
    status: int,
    result: str,
    detail: Detail | str | None = None,
    lang: str = DEFAULT,
    **extra: Any,
) -> dict[str, Any]:
    """The body of a problem in ``lang``; ``detail`` None is the result code's own."""
    texts = catalogue(lang)
    if isinstance(detail, Detail):
        detail = detail.text(lang)
    elif detail is None or lang != DEFAULT:
        detail = texts.detail(result)
    body: dict[str, Any] = {
        "type": f"urn:couponrush:problem:{result}",
        "title": _PHRASES[status] if lang == DEFAULT else texts.title(result),
        "status": status,
        "detail": detail,
        "result": result,
    }
    body.update(extra)
    return body


def retry_after(seconds: int) -> tuple[bytes, bytes]:
    return (b"retry-after", str(seconds).encode())


async def send_json(
    send: Send,
    status: int,
    body: dict[str, Any],
    headers: Sequence[tuple[bytes, bytes]] = (),
    content_type: bytes = JSON,
) -> None:
    await send_bytes(send, status, orjson.dumps(body), headers, content_type)


async def send_bytes(
    send: Send,
    status: int,
    payload: bytes,
    headers: Sequence[tuple[bytes, bytes]] = (),
    content_type: bytes = JSON,
) -> None:
    raw: Headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(payload)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


async def send_problem(
    send: Send,
    status: int,
    result: str,
    detail: Detail | str | None = None,
    headers: Sequence[tuple[bytes, bytes]] = (),
    **extra: Any,
) -> None:
    """A problem in the request's language (LANGUAGE), with its language headers."""
    lang = LANGUAGE.get()
    body = problem(status, result, detail, lang, **extra)
    tagged = (*headers, *((k.encode(), v.encode()) for k, v in language_headers(lang)))
    await send_json(send, status, body, tagged, PROBLEM_JSON)


def is_json_content_type(value: bytes | None) -> bool:
    if value == JSON:
        return True
    if value is None:
        return False
    media = value.split(b";", 1)[0].strip().lower()
    return media == JSON or (media.startswith(b"application/") and media.endswith(b"+json"))


async def read_body(receive: Receive, limit: int, expected: int | None = None) -> bytes:
    """Read a request body of at most ``limit`` bytes.

    Stops once ``expected`` (the Content-Length) bytes are in: some servers deliver the
    closing empty chunk as a message of its own, and waiting for it costs a suspension.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if size == expected or not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def error_list(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Keep location, message and type; never echo the (possibly huge) input back."""
    return [
        {
            # Without the names pydantic gives the branches of a union ("function-after[...]").
            "loc": [str(part) for part in e.get("loc", ()) if "[" not in str(part)],
            "msg": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in errors
    ]


def problem_for_errors(errors: Sequence[Any], lang: str = DEFAULT) -> tuple[int, dict[str, Any]]:
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, problem(400, "malformed_json", None, lang)
    listed = error_list(errors)
    first = listed[0] if listed else {"loc": [], "msg": "invalid"}
    where = ".".join(p for p in first["loc"] if p not in ("body",)) or "body"
    detail = say("invalid_field", where=where, message=first["msg"])
    return 422, problem(422, "invalid", detail, lang, errors=listed)
