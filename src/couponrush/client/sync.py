"""``Client``: the blocking SDK of the HTTP API."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import TypeVar

import httpx

from couponrush.client import calls
from couponrush.client.base import ClientBase
from couponrush.client.outcome import IssueOutcome
from couponrush.client.policy import RetryPolicy
from couponrush.web.schemas import EventResponse, IssueResponse

T = TypeVar("T")


class Client(ClientBase):
    """``Client("http://127.0.0.1:8080")``; ``transport`` reaches e.g. a Unix socket."""

    def __init__(self, base_url: str = "http://127.0.0.1:8080", *,
                 admin_token: str | None = None, policy: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None,
                 headers: Mapping[str, str] | None = None,
                 limits: httpx.Limits | None = None) -> None:  # fmt: skip
        super().__init__(admin_token, policy)
        self.http = httpx.Client(
            transport=transport, **self.http_options(base_url, headers, limits)
        )

    def create_event(self, event_id: str, total_stock: int, *, name: str | None = None,
                     starts_at: datetime | None = None,
                     ends_at: datetime | None = None) -> EventResponse:  # fmt: skip
        call = calls.create_event(event_id, total_stock, name, starts_at, ends_at, self.token())
        return self._run(call)

    def get_event(self, event_id: str) -> EventResponse:
        return self._run(calls.get_event(event_id))

    def issue(self, event_id: str, user_id: str, *, request_id: str | None = None,
              headers: Mapping[str, str] | None = None) -> IssueOutcome:  # fmt: skip
        return self._run(calls.issue(event_id, user_id, request_id, headers))

    def get_issuance(self, event_id: str, user_id: str) -> IssueResponse | None:
        return self._run(calls.get_issuance(event_id, user_id))

    def _run(self, call: calls.Call[T]) -> T:
        retrier = self.retrier(call)
        while True:
            try:
                response = self.http.send(self.build(self.http, call, retrier))
            except httpx.TransportError as exc:  # timeouts included
                wait = retrier.failed(exc)
            else:
                wait = retrier.answered(response)
            if wait is None:
                return call.finish(retrier.reply())
            time.sleep(wait)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.close()
