"""RFC 9457 problem bodies, the one table of result -> HTTP status, and the raw-ASGI
senders used by the lean routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson

from couponrush.core.errors import BodyTooLarge

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Scope = MutableMapping[str, Any]
Headers = list[tuple[bytes, bytes]]

_PHRASES = {s.value: s.phrase for s in HTTPStatus}
JSON = b"application/json"
PROBLEM_JSON = b"application/problem+json"

# Every result code of the issue route and the status it is answered with.
STATUS = {
    "issued": 201, "already_issued": 200, "not_found": 404, "not_open": 409, "closed": 409,
    "sold_out": 410, "rate_limited": 429, "unavailable": 503, "overloaded": 503,
    "invalid": 422, "malformed_json": 400, "payload_too_large": 413,
    "unsupported_media_type": 415, "method_not_allowed": 405, "unauthorized": 401,
    "forbidden": 403, "not_admitted": 409, "no_queue": 409, "bad_proof": 422,
}  # fmt: skip
DETAILS = {
    "not_found": "No event with this id.",
    "not_open": "The event has not opened yet.",
    "closed": "The event has closed.",
    "sold_out": "All coupons of this event have been issued.",
    "rate_limited": "Slow down: this user is over its request rate.",
    "not_admitted": "Not admitted yet: the queue has not reached your place (join it first "
    "with POST /v1/events/{event_id}/queue); try again after Retry-After.",
    "no_queue": "This event opens first come, first served: it has no queue; issue directly.",
    # The queue routes' own details of shared result codes (not_open, not_found), by name.
    "bad_proof": "This queue wants a proof of work: a proof whose SHA-1 of "
    "commitment:user_id:proof starts with proof_bits zero bits.",
    "queue_not_open": "The queue has not opened yet.",
    "queue_not_revealed": "The order is published at the opening, with the seed.",
    "not_queued": "This user is not in the queue.",
}


def problem(status: int, result: str, detail: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:couponrush:problem:{result}",
        "title": _PHRASES[status],
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
    detail: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
    **extra: Any,
) -> None:
    await send_json(send, status, problem(status, result, detail, **extra), headers, PROBLEM_JSON)


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


def problem_for_errors(errors: Sequence[Any]) -> tuple[int, dict[str, Any]]:
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, problem(400, "malformed_json", "The body is not valid JSON.")
    listed = error_list(errors)
    first = listed[0] if listed else {"loc": [], "msg": "invalid"}
    where = ".".join(p for p in first["loc"] if p not in ("body",)) or "body"
    detail = f"{where}: {first['msg']}"
    return 422, problem(422, "invalid", detail, errors=listed)
