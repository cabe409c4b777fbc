"""The sold-out edge: after the sell-out the gateway answers non-winners itself, winners
still reach the app, and every way the edge could go stale sends traffic back to the app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from couponrush.stack.ready import wait_until

from .conftest import AppPool, GatewayFactory, stop_pool
from .edge import (
    EDGE,
    LEASE_MS,
    at_edge,
    edge_answers,
    issue,
    lines,
    sold_out,
    start_edge_pool,
    wait_for_edge,
)


@pytest.fixture(scope="module")
def pool(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppPool]:
    pool = start_edge_pool(redis_url, tmp_path_factory.mktemp("edge"))
    yield pool
    stop_pool(pool)


def test_after_the_sell_out_non_winners_get_410_from_the_gateway_and_winners_their_coupon(
    pool: AppPool, start_gateway: GatewayFactory, event_id: str
) -> None:
    gw = start_gateway(pool, **EDGE)
    codes = sold_out(pool, gw, event_id, 3)
    wait_for_edge(gw, event_id)
    sold_out_before = pool.issue_count("sold_out")
    repeats_before = gw.metrics()[("couponrush_gateway_lane_total", "already_issued")]
    answers = [
        issue(gw.url, event_id, f"late-{i}", **{"X-Request-ID": f"late-{i}"}) for i in range(50)
    ]
    assert all(at_edge(a) for a in answers)
    assert {a.headers["x-request-id"] for a in answers} == {f"late-{i}" for i in range(50)}
    with pool.direct() as direct:
        from_app = direct.post(f"/v1/events/{event_id}/issue", json={"user_id": "late-0"})
    assert answers[0].content == from_app.content  # byte for byte the app's own 410
    assert answers[0].headers["content-type"] == from_app.headers["content-type"]
    for user, code in codes.items():  # winners pass the edge and get their coupon back
        back = issue(gw.url, event_id, user)
        assert (back.status_code, back.json()["result"]) == (200, "already_issued")
        assert back.json()["coupon_code"] == code
    # The winners' repeats were the win lane's; none of the 50 answers reached a worker.
    assert gw.metrics()[("couponrush_gateway_lane_total", "already_issued")] == repeats_before + 3
    assert pool.issue_count("sold_out") == sold_out_before + 1  # the direct one above
    for i in range(50):
        (line,) = lines(gw, request_id=f"late-{i}")
        assert (line["status"], line["upstream"], line["answered_by"]) == (410, "", "gateway")
    metrics = gw.metrics()
    assert metrics[("couponrush_gateway_edge_answers_total", "")] >= 50
    assert metrics[("couponrush_gateway_responses_total", "410")] >= 51
    assert metrics[("couponrush_gateway_edge_passes_total", "winner")] == 3
    assert metrics[("couponrush_gateway_edge_events", "")] >= 1


def test_the_per_client_bucket_applies_before_the_edge(
    pool: AppPool, start_gateway: GatewayFactory, event_id: str
) -> None:
    gw = start_gateway(
        pool,
        **{**EDGE, "client_rate_per_s": 1, "client_burst": 2, "trusted_proxies": ["127.0.0.1/32"]},
    )
    sold_out(pool, gw, event_id, 1)  # from 127.0.0.1's own bucket
    wait_until(
        lambda: at_edge(issue(gw.url, event_id, "p", **{"X-Forwarded-For": "10.1.0.1"})),
        "the edge",
        10,
    )
    answers = [
        issue(gw.url, event_id, f"l{i}", **{"X-Forwarded-For": "10.1.0.2"}) for i in range(6)
    ]
    assert at_edge(answers[0])
    limited = [a for a in answers if a.status_code == 429]
    assert limited
    assert all(a.json()["result"] == "rate_limited" for a in limited)


def test_a_reload_keeps_the_edge_and_a_restarted_or_late_gateway_learns_again(
    pool: AppPool, start_gateway: GatewayFactory, event_id: str
) -> None:
    first = start_gateway(pool, **EDGE)
    sold_out(pool, first, event_id, 2)
    wait_for_edge(first, event_id)
    first.reload()
    assert edge_answers(first, event_id)  # the shared memory outlives a reload
    late = start_gateway(pool, **EDGE)  # a second gateway learns on its own
    wait_for_edge(late, event_id)
    first.process.terminate()
    first.process.wait(10)
    restarted = start_gateway(pool, port=first.port, **EDGE)
    wait_for_edge(restarted, event_id)
    assert issue(restarted.url, event_id, "w0").json()["result"] == "already_issued"


def test_with_the_edge_off_every_request_goes_to_the_app(
    pool: AppPool, start_gateway: GatewayFactory, event_id: str
) -> None:
    gw = start_gateway(pool, **{**EDGE, "edge_answers": False})
    sold_out(pool, gw, event_id, 1)
    before = pool.issue_count("sold_out")
    answers = [issue(gw.url, event_id, f"x{i}", **{"X-Request-ID": f"off-{i}"}) for i in range(20)]
    assert all(a.status_code == 410 and not at_edge(a) for a in answers)
    assert pool.issue_count("sold_out") == before + 20
    assert all(lines(gw, request_id=f"off-{i}")[0]["upstream"] for i in range(20))
    metrics = gw.metrics()
    assert metrics[("couponrush_gateway_edge_enabled", "")] == 0
    assert metrics[("couponrush_gateway_edge_answers_total", "")] == 0


def test_a_dead_feed_sends_the_requests_back_to_the_app_within_the_lease(
    redis_url: str, start_gateway: GatewayFactory, tmp_path: Path, event_id: str
) -> None:
    pool = start_edge_pool(redis_url, tmp_path / "pool")
    try:
        gw = start_gateway(pool, **EDGE)
        sold_out(pool, gw, event_id, 1)
        wait_for_edge(gw, event_id)
    finally:
        stop_pool(pool)  # the app, and with it the feed, is gone
    # Past the lease the edge no longer answers: the requests find no app (503).
    wait_until(
        lambda: issue(gw.url, event_id, "late").status_code == 503,
        "the edge's lease to lapse",
        LEASE_MS / 1000 + 2,
    )
    metrics = gw.metrics()
    assert metrics[("couponrush_gateway_edge_polls_total", "error")] > 0
    assert metrics[("couponrush_gateway_edge_events", "")] == 0


JSON = [("Content-Type", "application/json")]
# name: method, path after the event id, headers, body ({u}: the variant's own user; a
# list is sent chunked), and whether the edge answers it (else the app does).
Variant = tuple[str, str, list[tuple[str, str]], bytes | list[bytes], bool]
VARIANTS: dict[str, Variant] = {
    "canonical": ("POST", "/issue", JSON, b'{"user_id":"{u}"}', True),
    "JSON whitespace": ("POST", "/issue", JSON, b' {\r\n "user_id" :\t"{u}" }\n', True),
    "charset parameter": ("POST", "/issue", [("Content-Type", "application/json; charset=utf-8")],
                          b'{"user_id":"{u}"}', True),
    "+json media type": ("POST", "/issue", [("Content-Type", "Application/Vnd.Api+JSON ; v=1")],
                         b'{"user_id":"{u}"}', True),
    "query string": ("POST", "/issue?x=1", JSON, b'{"user_id":"{u}"}', True),
    "chunked body": ("POST", "/issue", JSON, [b'{"user_id":', b'"{u}"}'], True),
    "a winner": ("POST", "/issue", JSON, b'{"user_id":"w0"}', False),
    "text/plain": ("POST", "/issue", [("Content-Type", "text/plain")], b'{"user_id":"{u}"}',
                   False),
    "no media type": ("POST", "/issue", [], b'{"user_id":"{u}"}', False),
    "two media types": ("POST", "/issue", [*JSON, ("Content-Type", "text/plain")],
                        b'{"user_id":"{u}"}', False),
    "escaped user id": ("POST", "/issue", JSON, b'{"user_id":"\\u0078{u}"}', False),
    "extra key": ("POST", "/issue", JSON, b'{"user_id":"{u}","x":1}', False),
    "duplicate key": ("POST", "/issue", JSON, b'{"user_id":"a{u}","user_id":"{u}"}', False),
    "bad user id": ("POST", "/issue", JSON, b'{"user_id":"-{u}"}', False),
    "a number": ("POST", "/issue", JSON, b'{"user_id":7}', False),
    "not JSON": ("POST", "/issue", JSON, b'{"user_id":', False),
    "empty body": ("POST", "/issue", JSON, b"", False),
    "GET": ("GET", "/issue", [], b"", False),
    "escaped slash": ("POST", "%2Fissue", JSON, b'{"user_id":"{u}"}', False),
}  # fmt: skip


def payload(body: bytes | list[bytes], user: str) -> bytes | Iterator[bytes]:
    if isinstance(body, list):
        return iter([part.replace(b"{u}", user.encode()) for part in body])
    return body.replace(b"{u}", user.encode())


def test_the_edge_answers_only_what_the_app_would_answer_the_same(
    pool: AppPool, start_gateway: GatewayFactory, event_id: str
) -> None:
    gw = start_gateway(pool, **EDGE)
    sold_out(pool, gw, event_id, 1)
    wait_for_edge(gw, event_id)
    wrong = {}
    with pool.direct() as direct, httpx.Client(base_url=gw.url, timeout=10) as http:
        for i, (name, (method, rest, headers, body, by_edge)) in enumerate(VARIANTS.items()):
            path = f"/v1/events/{event_id}{rest}"
            through = http.request(method, path, headers=headers, content=payload(body, f"v{i}"))
            app = direct.request(method, path, headers=headers, content=payload(body, f"v{i}"))
            if (through.status_code, through.content, at_edge(through)) != (
                app.status_code,
                app.content,
                by_edge,
            ):
                wrong[name] = (through.status_code, at_edge(through), through.text, app.text)
    assert not wrong, wrong
