"""A real HTTP server on loopback that answers from a script, for the SDK's retry tests:
the API itself never sends an HTTP-date Retry-After or a 503 on demand."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# status, headers, body
Scripted = tuple[int, dict[str, str], dict[str, Any]]


@dataclass
class Script:
    answers: list[Scripted]
    seen: list[tuple[float, str, str | None]] = field(default_factory=list)  # unix time, path, id


@contextmanager
def scripted_server(script: Script) -> Iterator[str]:
    """Serves ``script.answers`` in order (the last one for ever after); its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            script.seen.append((time.time(), self.path, self.headers.get("x-request-id")))
            index = min(len(script.seen), len(script.answers)) - 1
            status, headers, body = script.answers[index]
            payload = json.dumps(body).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
