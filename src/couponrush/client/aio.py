"""``AsyncClient``: the asyncio SDK of the HTTP API."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx

from couponrush.client import admin, calls, queueing
from couponrush.client.base import ClientBase
from couponrush.client.outcome import IssueOutcome
from couponrush.client.policy import RetryPolicy
from couponrush.web.queue_schemas import QueueOrder, QueuePlace, QueueState
from couponrush.web.schemas import EventResponse, IssueResponse
from couponrush.web.season_schemas import AuditPage, CouponResponse, EventPage, TokenInfo

T = TypeVar("T")


class AsyncClient(ClientBase):
    """``AsyncClient("http://127.0.0.1:8080")``; ``transport`` reaches e.g. a Unix socket."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8080",
        *,
        admin_token: str | None = None,
        policy: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        limits: httpx.Limits | None = None,
    ) -> None:
        super().__init__(admin_token, policy)
        self.http = httpx.AsyncClient(
            transport=transport, **self.http_options(base_url, headers, limits)
        )

    async def create_event(
        self,
        event_id: str,
        total_stock: int,
        *,
        name: str | None = None,
        starts_at: datetime | None = None,
        ends_at: datetime | None = None,
        **opening: Any,
    ) -> EventResponse:
        """``opening``: a shuffled opening's fields by the API's names (opening="shuffled",
        prequeue_opens_at, admit_per_wave, admit_every_s, proof_bits)."""
        token = self.token()
        call = calls.create_event(event_id, total_stock, name, starts_at, ends_at, token, opening)
        return await self._run(call)

    async def get_event(self, event_id: str) -> EventResponse:
        return await self._run(calls.get_event(event_id))

    async def issue(
        self,
        event_id: str,
        user_id: str,
        *,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> IssueOutcome:
        return await self._run(calls.issue(event_id, user_id, request_id, headers))

    async def get_issuance(self, event_id: str, user_id: str) -> IssueResponse | None:
        return await self._run(calls.get_issuance(event_id, user_id))

    async def join_queue(
        self,
        event_id: str,
        user_id: str,
        *,
        proof: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> QueuePlace:
        """Join a shuffled opening's queue (again: the same place)."""
        reply = await self._run(calls.join_queue(event_id, user_id, proof, headers))
        return calls.model(QueuePlace, reply, 200, 201)

    async def queue_place(
        self, event_id: str, user_id: str, *, headers: Mapping[str, str] | None = None
    ) -> QueuePlace:
        return calls.model(
            QueuePlace, await self._run(calls.queue_place(event_id, user_id, headers)), 200
        )

    async def queue_state(self, event_id: str) -> QueueState:
        return calls.model(QueueState, await self._run(calls.queue_state(event_id)), 200)

    async def queue_order(self, event_id: str) -> QueueOrder:
        return calls.model(QueueOrder, await self._run(calls.queue_order(event_id)), 200)

    async def queue_and_issue(
        self,
        event_id: str,
        user_id: str,
        *,
        max_wait_s: float = 1800.0,
        headers: Mapping[str, str] | None = None,
    ) -> IssueOutcome:
        """Join the queue, wait for admission, issue (client/queueing.py); an event
        without a queue is issued at once."""
        run = queueing.steps(event_id, user_id, max_wait_s)
        answer: Any = None
        while True:
            try:
                step = run.send(answer)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            if step[0] == "sleep":
                await asyncio.sleep(step[1])
                answer = None
            else:
                answer = await self._run(queueing.call_of(step, event_id, user_id, headers))

    async def list_events(
        self, *statuses: str, cursor: str | None = None, limit: int = 20
    ) -> EventPage:
        """A page of events, newest first (any of ``statuses``; none: every event)."""
        return await self._run(admin.list_events(statuses, cursor, limit))

    async def update_event(self, event_id: str, **fields: Any) -> EventResponse:
        """name, starts_at, ends_at (None: none), total_stock (upward only)."""
        return await self._run(admin.update_event(event_id, self.token(), **fields))

    async def close_event(self, event_id: str) -> EventResponse:
        return await self._run(admin.event_action(event_id, "close", self.token()))

    async def archive_event(self, event_id: str) -> EventResponse:
        return await self._run(admin.event_action(event_id, "archive", self.token()))

    async def get_coupon(self, code: str) -> CouponResponse:
        return await self._run(admin.get_coupon(code, self.token()))

    async def redeem(self, code: str, order_id: str) -> CouponResponse:
        body = {"order_id": order_id}
        return await self._run(admin.coupon_action(code, "redeem", body, self.token()))

    async def revoke(self, code: str, reason: str) -> CouponResponse:
        return await self._run(
            admin.coupon_action(code, "revoke", {"reason": reason}, self.token())
        )

    async def audit(
        self,
        *,
        cursor: str | None = None,
        limit: int = 50,
        action: str | None = None,
        target: str | None = None,
    ) -> AuditPage:
        return await self._run(admin.audit(self.token(), cursor, limit, action, target))

    async def current_token(self) -> TokenInfo:
        return await self._run(admin.current_token(self.token()))

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

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
