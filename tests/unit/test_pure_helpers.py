from __future__ import annotations

from pathlib import Path

import pytest

from couponrush.client import RetryPolicy
from couponrush.events import event_status
from couponrush.keys import decode_participant, encode_participant, event_keys
from couponrush.supervisor import Program, render_conf
from couponrush.validation import problem_for_errors


def test_all_keys_of_an_event_share_one_hash_tag() -> None:
    keys = event_keys("spring-sale")
    tags = {k.split("{")[1].split("}")[0] for k in keys.script_keys}
    assert tags == {"spring-sale"}


def test_participant_values_round_trip() -> None:
    assert decode_participant(encode_participant(12, 1700000000123)) == (12, 1700000000123)
    assert decode_participant(b"3:5") == (3, 5)


@pytest.mark.parametrize(
    ("remaining", "starts", "ends", "now", "status"),
    [
        (5, 100, None, 99, "scheduled"),
        (5, 100, None, 100, "open"),
        (0, None, None, 1, "sold_out"),
        (5, None, 200, 200, "closed"),
        (0, None, 200, 250, "closed"),
    ],
)
def test_event_status(
    remaining: int, starts: int | None, ends: int | None, now: int, status: str
) -> None:
    assert event_status(remaining, starts, ends, now) == status


def test_malformed_json_is_400_other_errors_422() -> None:
    status, body = problem_for_errors([{"type": "json_invalid", "loc": (), "msg": "x"}])
    assert (status, body["result"]) == (400, "malformed_json")
    status, body = problem_for_errors([{"type": "string_type", "loc": ("user_id",), "msg": "m"}])
    assert (status, body["result"], body["detail"]) == (422, "invalid", "user_id: m")


def test_retry_policy_honours_retry_after_and_caps_backoff() -> None:
    policy = RetryPolicy(attempts=5, base_s=0.1, cap_s=0.5)
    for attempt in range(10):
        assert 0 <= policy.delay(attempt, None) <= 0.5
        assert 1.0 <= policy.delay(attempt, "2") <= 2.0


def test_supervisord_conf_quotes_arguments_and_escapes_percent(tmp_path: Path) -> None:
    programs = {"redis": Program(["redis-server", "--save", "", "a%b"]),
                "later": Program(["x"], autostart=False, stopsignal="INT")}  # fmt: skip
    conf = render_conf(tmp_path, programs, {"K": "v"})
    assert "command=redis-server --save '' a%%b" in conf
    assert 'environment=K="v"' in conf
    assert "autostart=false" in conf
    assert "stopsignal=INT" in conf
