"""Readiness of a pipeline process, and the small HTTP server of its metrics port:
``/metrics`` (Prometheus), ``/readyz`` (200 once ready, else 503 with what it waits for)
and ``/healthz`` (200 while the process runs)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import orjson
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer


class Readiness:
    """Named conditions a process waits for (its source and sink reachable, its group
    joined); marked from the event loop, read from the metrics server's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expected: set[str] = set()
        self._passed: set[str] = set()

    def expect(self, *names: str) -> None:
        with self._lock:
            self._expected.update(names)

    def mark(self, name: str) -> None:
        if name not in self._passed:
            with self._lock:
                self._passed.add(name)

    def waiting_for(self) -> list[str]:
        with self._lock:
            return sorted(self._expected - self._passed)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each."""


class _Server(ThreadingWSGIServer):
    def __init__(self, address: tuple[str, int], handler: Any) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler)


Start = Callable[[str, list[tuple[str, str]]], Any]


def _json(start: Start, status: str, body: dict[str, Any]) -> Iterable[bytes]:
    payload = orjson.dumps(body)
    start(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def serve(registry: CollectorRegistry, readiness: Readiness, host: str, port: int) -> None:
    """Serve from a daemon thread of this process until it exits."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start: Start) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return _json(start, "200 OK", {"result": "ok"})
        if path == "/readyz":
            waiting = readiness.waiting_for()
            if waiting:
                body = {"result": "not_ready", "waiting_for": waiting}
                return _json(start, "503 Service Unavailable", body)
            return _json(start, "200 OK", {"result": "ok"})
        return metrics(environ, start)  # type: ignore[no-any-return]

    server = make_server(host, port, app, _Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
