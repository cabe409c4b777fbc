"""A raw-socket HTTP/1.x client for the fuzz test: send bytes as they are, read whatever
comes back until the server closes or a deadline, and parse each response in it."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def document(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class Exchange:
    """What one connection got: parsed responses, bytes that were no response (an HTTP/0.9
    answer has no status line), and whether the server closed it."""

    responses: list[Response] = field(default_factory=list)
    raw: bytes = b""
    closed: bool = False
    error: str = ""


def parse(data: bytes) -> tuple[list[Response], bytes]:
    found = []
    while data.startswith(b"HTTP/"):
        end = data.find(b"\r\n\r\n")
        if end < 0:
            break
        head = data[:end].decode("latin-1").split("\r\n")
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        rest = data[end + 4 :]
        length = int(headers.get("content-length", len(rest)))
        found.append(Response(int(head[0].split(" ")[1]), headers, rest[:length]))
        data = rest[length:]
    return found, data


async def exchange(
    port: int,
    parts: list[bytes],
    pause_s: float,
    half_close: bool,
    deadline_s: float,
    expected: int,
) -> Exchange:
    """Send ``parts`` (``pause_s`` apart), read until closed, ``expected`` responses are in,
    or the deadline."""
    got = Exchange()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as exc:
        got.error = repr(exc)
        return got
    data = b""
    try:
        for i, part in enumerate(parts):
            writer.write(part)
            await writer.drain()
            if pause_s and i < len(parts) - 1:
                await asyncio.sleep(pause_s)
        if half_close and writer.can_write_eof():
            writer.write_eof()
        deadline = time.monotonic() + deadline_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), left)
            except TimeoutError:
                break
            if not chunk:
                got.closed = True
                break
            data += chunk
            responses, rest = parse(data)
            if len(responses) >= expected and not rest:
                break
    except (ConnectionError, OSError):
        got.closed = True
    finally:
        writer.close()
    got.responses, got.raw = parse(data)
    return got
