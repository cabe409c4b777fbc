"""``AsyncClient``: the asyncio SDK of the HTTP API."""

from __future__ import annotations

import asyncio
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


class AsyncClient(ClientBase):
    """``AsyncClient("http://127.0.0.1:8080")``; ``transport`` reaches e.g. a Unix socket."""

    def __init__(self, base_url: str = "http://127.0.0.1:8080", *,
                 admin_token: str | None = None, policy: RetryPolicy | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 headers: Mapping[str, str] | None = None,
                 limits: httpx.Limits | None = None) -> None:  # fmt: skip
        super().__init__(admin_token, policy)
        self.http = httpx.AsyncClient(
            transport=transport, **self.http_options(base_url, headers, limits)
        )

    async def create_event(self, event_id: str, total_stock: int, *, name: str | None = None,
                           starts_at: datetime | None = None,
                           ends_at: datetime | None = None) -> EventResponse:  # fmt: skip
        call = calls.create_event(event_id, total_stock, name, starts_at, ends_at, self.token())
        return await self._run(call)

    async def get_event(self, event_id: str) -> EventResponse:
        return await self._run(calls.get_event(event_id))

    async def issue(self, event_id: str, user_id: str, *, request_id: str | None = None,
                    headers: Mapping[str, str] | None = None) -> IssueOutcome:  # fmt: skip
        return await self._run(calls.issue(event_id, user_id, request_id, headers))

    async def get_issuance(self, event_id: str, user_id: str) -> IssueResponse | None:
        return await self._run(calls.get_issuance(event_id, user_id))

    async def _run(self, call: calls.Call[T]) -> T:
        retrier = self.retrier(call)
        while True:
            try:
                response = await self.http.send(self.build(self.http, call, retrier))
            except httpx.TransportError as exc:  # timeouts included
                wait = retrier.failed(exc)
            else:
                wait = retrier.answered(response)
            if wait is None:
                return call.finish(retrier.reply())
            await asyncio.sleep(wait)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:  # fmt: skip
        await self.aclose()
