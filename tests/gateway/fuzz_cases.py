"""The malformed requests of the gateway's fuzz test, by family.

Each request carries ``?case=N`` where it has a target, so the gateway's access log tells
which reached an app worker. A smuggling attempt hides an issue request for the user
``smuggled`` of a live event in its body: if it ever reaches a worker, that event has a
winner. ``forwards``: the request is valid enough that a worker may see it (or it is the
app's to judge); any other case reaching a worker is a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ISSUE = b"/v1/events/fuzz-target/issue"
CT = (b"Content-Type", b"application/json")
BODY = b'{"user_id":"u1"}'
CHUNKED = b"10\r\n" + BODY + b"\r\n0\r\n\r\n"
TE = [CT, (b"Transfer-Encoding", b"chunked")]

Headers = Sequence[tuple[bytes, bytes | None]]


@dataclass
class Case:
    family: str
    name: str
    parts: list[bytes]
    forwards: bool = False
    half_close: bool = False
    pause_s: float = 0.0
    deadline_s: float = 3.0
    cid: int = 0

    @property
    def expected(self) -> int:
        """Responses to wait for: one per request line sent."""
        return max(1, b"".join(self.parts).count(b" HTTP/1."))


def req(
    method: bytes = b"GET",
    target: bytes | None = None,
    version: bytes = b"HTTP/1.1",
    headers: Headers | None = None,
    body: bytes = b"",
    host: bool = True,
    eol: bytes = b"\r\n",
) -> bytes:
    line = method + b" " + (ISSUE + b"?case={cid}" if target is None else target)
    out = line + (b" " + version if version else b"") + eol
    for name, value in [(b"Host", b"gw")] * host + list(headers or []):
        out += (name + b": " + value if value is not None else name) + eol
    return out + eol + body


def post(headers: Headers, body: bytes, **kw: object) -> bytes:
    return req(b"POST", headers=headers, body=body, **kw)  # type: ignore[arg-type]


class Cases:
    def __init__(self, smuggle_event: str) -> None:
        body = b'{"user_id":"smuggled"}'
        self.smuggled = post(
            [CT, (b"Content-Length", str(len(body)).encode())],
            body,
            target=f"/v1/events/{smuggle_event}/issue?case={{cid}}".encode(),
        )
        self.all: list[Case] = []

    def add(self, family: str, name: str, payload: bytes | list[bytes], **kw: object) -> None:
        parts = payload if isinstance(payload, list) else [payload]
        self.all.append(Case(family, name, parts, **kw))  # type: ignore[arg-type]

    def numbered(self) -> list[Case]:
        for i, case in enumerate(self.all, 1):
            case.cid = i
            case.parts = [p.replace(b"{cid}", str(i).encode()) for p in case.parts]
        return self.all
