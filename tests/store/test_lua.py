"""issue.lua and create_event.lua against a real Redis: every outcome and edge."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from couponrush.store.keys import EventKeys, bucket_key, event_keys
from couponrush.store.scripts import Scripts


async def create(
    redis: Redis, scripts: Scripts, event_id: str, total: int, starts: str = "", ends: str = ""
) -> Any:
    keys = event_keys(event_id)
    sha = scripts.create_event.sha
    return await redis.evalsha(sha, 4, *keys.script_keys, total, starts, ends, "n", 1)


async def issue_many(
    redis: Redis,
    scripts: Scripts,
    event_id: str,
    users: list[str],
    rate: str = "0",
    burst: str = "1",
    mode: str = "all",
) -> Any:
    """One run of issue.lua for several users (their buckets only with a rate)."""
    buckets = [bucket_key(event_id, u) for u in users] if rate != "0" else []
    keys = (*event_keys(event_id).issue_keys, *buckets)
    args = [a for u in users for a in (u, f"rid-{u}")]
    sha = scripts.issue.sha
    replies = await redis.evalsha(sha, len(keys), *keys, rate, burst, mode, *args)
    return replies


async def issue(
    redis: Redis, scripts: Scripts, event_id: str, user: str, rate: str = "0", burst: str = "1"
) -> list[Any]:
    replies: list[list[Any]] = await issue_many(redis, scripts, event_id, [user], rate, burst)
    return replies[0]


async def redis_now_ms(redis: Redis) -> int:
    sec, usec = await redis.time()
    return int(sec) * 1000 + int(usec) // 1000


async def test_unknown_event_is_not_found(redis: Redis, scripts: Scripts, event_id: str) -> None:
    assert await issue(redis, scripts, event_id, "u1") == ["NOT_FOUND"]
    assert await redis.exists(*event_keys(event_id).script_keys) == 0


async def test_issue_decrements_records_and_queues_in_one_step(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    keys = event_keys(event_id)
    assert await create(redis, scripts, event_id, 2) == "CREATED"
    status, slot, issued_at = await issue(redis, scripts, event_id, "u1")
    assert (status, slot) == ("ISSUED", 1)
    assert await redis.get(keys.stock) == "1"
    assert await redis.hget(keys.participants, "u1") == f"1:{issued_at}"
    entries = await redis.xrange(keys.outbox) or []
    assert len(entries) == 1
    assert entries[0][1] == {
        "user_id": "u1",
        "slot": "1",
        "issued_at": str(issued_at),
        "request_id": "rid-u1",
    }


async def test_duplicate_returns_the_same_slot_even_after_sold_out(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    await create(redis, scripts, event_id, 1)
    first = await issue(redis, scripts, event_id, "u1")
    assert await issue(redis, scripts, event_id, "u2") == ["SOLD_OUT"]
    again = await issue(redis, scripts, event_id, "u1")
    assert again == ["DUPLICATE", first[1], first[2]]
    assert await redis.xlen(event_keys(event_id).outbox) == 1


async def test_sold_out_writes_nothing(redis: Redis, scripts: Scripts, event_id: str) -> None:
    keys = event_keys(event_id)
    await create(redis, scripts, event_id, 1)
    await redis.set(keys.stock, 0)
    assert await issue(redis, scripts, event_id, "u1") == ["SOLD_OUT"]
    assert await redis.get(keys.stock) == "0"
    assert await redis.hlen(keys.participants) == 0
    assert await redis.exists(keys.outbox) == 0


async def test_window_edges_use_redis_time(redis: Redis, scripts: Scripts, event_id: str) -> None:
    now = await redis_now_ms(redis)
    await create(redis, scripts, f"{event_id}-late", 5, starts=str(now + 60_000))
    assert await issue(redis, scripts, f"{event_id}-late", "u") == ["NOT_OPEN", now + 60_000]
    await create(redis, scripts, f"{event_id}-start", 5, starts=str(now))
    assert (await issue(redis, scripts, f"{event_id}-start", "u"))[0] == "ISSUED"
    await create(redis, scripts, f"{event_id}-end", 5, ends=str(now))
    assert await issue(redis, scripts, f"{event_id}-end", "u") == ["CLOSED", now]
    await create(redis, scripts, f"{event_id}-open", 5, ends=str(now + 60_000))
    assert (await issue(redis, scripts, f"{event_id}-open", "u"))[0] == "ISSUED"


async def test_a_winner_gets_its_coupon_back_after_close(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    keys = event_keys(event_id)
    await create(redis, scripts, event_id, 5)
    won = await issue(redis, scripts, event_id, "u1")
    await redis.hset(keys.meta, "ends_at", str(await redis_now_ms(redis)))
    assert await issue(redis, scripts, event_id, "u1") == ["DUPLICATE", won[1], won[2]]
    assert (await issue(redis, scripts, event_id, "u2"))[0] == "CLOSED"


async def test_concurrent_create_lets_exactly_one_win(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    replies = await asyncio.gather(*(create(redis, scripts, event_id, n) for n in range(1, 21)))
    assert sorted(replies).count("CREATED") == 1
    assert replies.count("EXISTS") == 19
    meta = await redis.hgetall(event_keys(event_id).meta)
    assert await redis.get(event_keys(event_id).stock) == meta["total"]


async def test_create_refuses_when_any_key_is_left_over(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    keys: EventKeys = event_keys(event_id)
    await redis.hset(keys.participants, "ghost", "1:1")
    assert await create(redis, scripts, event_id, 10) == "EXISTS"
    assert await redis.exists(keys.meta, keys.stock) == 0


async def test_no_key_ever_expires(redis: Redis, scripts: Scripts, event_id: str) -> None:
    await create(redis, scripts, event_id, 1)
    await issue(redis, scripts, event_id, "u1")
    for key in event_keys(event_id).script_keys:
        assert await redis.ttl(key) == -1, key


async def test_user_token_bucket_limits_then_refills(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    await create(redis, scripts, event_id, 100, starts=str(await redis_now_ms(redis) + 60_000))
    # burst 3 at 2 tokens/s: three answers, then a wait of about half a second
    answers = [await issue(redis, scripts, event_id, "u", "2", "3") for _ in range(4)]
    assert [a[0] for a in answers] == ["NOT_OPEN", "NOT_OPEN", "NOT_OPEN", "RATE_LIMITED"]
    assert 1 <= answers[3][1] <= 500
    assert await issue(redis, scripts, event_id, "other", "2", "3") != answers[3]
    bucket = bucket_key(event_id, "u")
    assert 0 < await redis.pttl(bucket) <= 2_500
    await redis.hset(bucket, "ts", str(await redis_now_ms(redis) - 1_000))
    assert (await issue(redis, scripts, event_id, "u", "2", "3"))[0] == "NOT_OPEN"


async def test_a_winner_is_answered_before_its_bucket(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    await create(redis, scripts, event_id, 5)
    won = await issue(redis, scripts, event_id, "u", "1", "1")
    for _ in range(3):
        assert await issue(redis, scripts, event_id, "u", "1", "1") == ["DUPLICATE", won[1], won[2]]


async def test_a_win_takes_no_token(redis: Redis, scripts: Scripts, event_id: str) -> None:
    """Every later call of a winner is answered before its bucket: a token would be unread."""
    await create(redis, scripts, event_id, 5)
    assert (await issue(redis, scripts, event_id, "u", "1", "1"))[0] == "ISSUED"
    assert await redis.exists(bucket_key(event_id, "u")) == 0


async def test_one_run_answers_each_user_as_separate_runs_would(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    await create(redis, scripts, event_id, 3)
    keys = event_keys(event_id)
    first = await issue(redis, scripts, event_id, "early")
    users = ["a", "early", "b", "a", "c", "d"]
    replies = await issue_many(redis, scripts, event_id, users)
    results = ["ISSUED", "DUPLICATE", "ISSUED", "DUPLICATE", "SOLD_OUT", "SOLD_OUT"]
    assert [r[0] for r in replies] == results
    assert replies[1] == ["DUPLICATE", *first[1:]]
    assert (replies[0][1], replies[2][1]) == (2, 3)
    assert replies[3] == ["DUPLICATE", *replies[0][1:]]  # named twice: its win of this run
    assert await redis.get(keys.stock) == "0"
    assert await redis.hlen(keys.participants) == 3
    entries = await redis.xrange(keys.outbox) or []
    fields = [(f["user_id"], f["slot"], f["request_id"]) for _, f in entries if f]
    assert fields == [
        ("early", "1", "rid-early"),
        ("a", "2", "rid-a"),
        ("b", "3", "rid-b"),
    ]


async def test_one_run_for_an_unknown_event_or_a_shut_window(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    assert await issue_many(redis, scripts, event_id, ["a", "b"]) == [["NOT_FOUND"]] * 2
    later = await redis_now_ms(redis) + 60_000
    await create(redis, scripts, event_id, 5, starts=str(later))
    replies = await issue_many(redis, scripts, event_id, ["a", "a", "a"], "1", "2")
    assert [r[0] for r in replies] == ["NOT_OPEN", "NOT_OPEN", "RATE_LIMITED"]
    assert replies[0] == ["NOT_OPEN", later]


async def test_wins_mode_answers_wins_in_one_string_and_writes_nothing_else(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    """The gateway's win lane: a win and a winner's retry as the app's mode answers them;
    anything else PASS, with no bucket written (the app's run takes the token)."""
    assert await issue_many(redis, scripts, event_id, ["a", "b"], mode="wins") == "P,P"
    await create(redis, scripts, event_id, 1)
    first = await issue_many(redis, scripts, event_id, ["a", "a", "b"], "2", "3", mode="wins")
    won = str(await redis.hget(event_keys(event_id).participants, "a"))
    slot, issued_at = won.split(":")
    assert first == f"I{slot}:{issued_at},D{slot}:{issued_at},P"
    for _ in range(5):  # sold out for b: passed on, never counted against its bucket
        assert await issue_many(redis, scripts, event_id, ["b"], "2", "3", mode="wins") == "P"
    assert await redis.exists(bucket_key(event_id, "b")) == 0
    assert (await issue(redis, scripts, event_id, "b", "2", "3"))[0] == "SOLD_OUT"
    assert await redis.hget(bucket_key(event_id, "b"), "tokens") is not None
