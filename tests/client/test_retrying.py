"""The SDK's retry decisions against a real (scripted) HTTP server: never sooner than
Retry-After in either form, one request id per call, a budget, a deadline, typed errors."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from couponrush.client import (
    AsyncClient,
    Client,
    GaveUp,
    Invalid,
    NotFound,
    RetryPolicy,
    ServerError,
    Unauthorized,
)
from couponrush.core.errors import PermanentError, RetryableError
from tests.client.scripted import Script, Scripted, scripted_server

WIN = {"result": "issued", "event_id": "e1", "user_id": "u1", "slot": 1,
       "coupon_code": "ABCD-EFGH", "issued_at": "2026-11-24T16:00:00.000Z"}  # fmt: skip
BUSY = {"type": "urn:couponrush:problem:overloaded", "title": "Service Unavailable",
        "status": 503, "detail": "At capacity.", "result": "overloaded"}  # fmt: skip
LIMITED = {**BUSY, "status": 429, "result": "rate_limited", "title": "Too Many Requests"}
FAST = RetryPolicy(max_attempts=5, deadline_s=20, base_s=0.01, cap_s=0.05)


def problem(status: int, result: str) -> dict[str, object]:
    return {
        "type": f"urn:couponrush:problem:{result}",
        "title": "x",
        "status": status,
        "detail": result,
        "result": result,
    }


def test_seconds_retry_after_is_waited_out_and_the_call_ends_with_the_coupon() -> None:
    script = Script([(429, {"Retry-After": "1"}, LIMITED), (201, {}, WIN)])
    with scripted_server(script) as url, Client(url, policy=FAST) as client:
        outcome = client.issue("e1", "u1")
    assert (outcome.result, outcome.won, outcome.final, outcome.status) == (
        "issued",
        True,
        True,
        201,
    )
    assert outcome.coupon is not None
    assert outcome.coupon.coupon_code == "ABCD-EFGH"
    first, last = outcome.attempts
    assert (first.status, first.result, first.retry_after_s) == (429, "rate_limited", 1.0)
    assert 1.0 <= first.wait_s <= 1.05  # at least Retry-After; the jitter window is capped
    assert script.seen[1][0] - script.seen[0][0] >= 1.0
    assert last.wait_s == 0.0
    ids = {request_id for _, _, request_id in script.seen}
    assert ids == {outcome.request_id}  # one request id for every try of a call


def test_an_http_date_retry_after_is_waited_out() -> None:
    at = datetime.fromtimestamp(int(datetime.now(UTC).timestamp()) + 2, UTC)
    script = Script(
        [(503, {"Retry-After": format_datetime(at, usegmt=True)}, BUSY), (201, {}, WIN)]
    )
    with scripted_server(script) as url, Client(url, policy=FAST) as client:
        outcome = client.issue("e1", "u1", request_id="mine-1")
    assert outcome.result == "issued"
    assert script.seen[1][0] >= at.timestamp()
    assert 0 < outcome.attempts[0].retry_after_s <= 2.0
    assert outcome.attempts[0].wait_s >= outcome.attempts[0].retry_after_s
    assert [request_id for _, _, request_id in script.seen] == ["mine-1", "mine-1"]


def test_the_retry_budget_ends_in_the_last_answer_not_an_exception() -> None:
    script = Script([(503, {"Retry-After": "0"}, BUSY)])
    with scripted_server(script) as url, Client(url, policy=FAST) as client:
        outcome = client.issue("e1", "u1")
    assert (outcome.result, outcome.final, outcome.status) == ("overloaded", False, 503)
    assert len(outcome.attempts) == len(script.seen) == FAST.max_attempts
    assert outcome.problem is not None
    assert outcome.problem.result == "overloaded"


def test_a_retry_after_past_the_deadline_gives_up_rather_than_come_back_early() -> None:
    script = Script([(503, {"Retry-After": "5"}, BUSY)])
    policy = RetryPolicy(max_attempts=10, deadline_s=1.0)
    with scripted_server(script) as url, Client(url, policy=policy) as client:
        outcome = client.issue("e1", "u1")
        with pytest.raises(GaveUp) as raised:
            client.get_event("e1")
    assert len(script.seen) == 2  # one try each
    assert (outcome.result, outcome.attempts[0].wait_s) == ("overloaded", 0.0)
    assert isinstance(raised.value, RetryableError)
    assert raised.value.status == 503


def test_no_coupon_answers_are_outcomes_and_misuse_is_a_typed_error() -> None:
    answers: list[Scripted] = [
        (410, {}, problem(410, "sold_out")),
        (409, {}, problem(409, "not_open")),
        (409, {}, problem(409, "closed")),
        (404, {}, problem(404, "not_found")),
        (422, {}, problem(422, "invalid")),
        (500, {}, {}),
        (401, {}, problem(401, "unauthorized")),
    ]
    script = Script(answers)
    with scripted_server(script) as url, Client(url, admin_token="t" * 20, policy=FAST) as c:
        assert [c.issue("e1", "u1").result for _ in range(3)] == ["sold_out", "not_open", "closed"]
        for kind in (NotFound, Invalid, ServerError):
            with pytest.raises(kind) as raised:
                c.issue("e1", "u1")
            assert isinstance(raised.value, PermanentError)
        with pytest.raises(Unauthorized):
            c.create_event("e1", 10)
    assert len(script.seen) == len(answers)  # none of them was retried


def test_network_errors_are_retried_and_reported() -> None:
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]  # nothing listens here once it is closed
    with Client(f"http://127.0.0.1:{port}", policy=FAST) as client:
        outcome = client.issue("e1", "u1")
    assert (outcome.result, outcome.status, outcome.final) == ("network_error", 0, False)
    assert len(outcome.attempts) == FAST.max_attempts
    assert {a.error for a in outcome.attempts} == {"ConnectError"}


async def test_the_async_client_decides_the_same_way() -> None:
    script = Script(
        [(503, {"Retry-After": "1"}, BUSY), (200, {}, {**WIN, "result": "already_issued"})]
    )
    with scripted_server(script) as url:
        async with AsyncClient(url, policy=FAST) as client:
            outcome = await client.issue("e1", "u1")
    assert (outcome.result, outcome.status) == ("already_issued", 200)
    assert outcome.attempts[0].wait_s >= 1.0
    assert script.seen[1][0] - script.seen[0][0] >= 1.0
