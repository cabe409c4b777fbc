"""Retry timing: never sooner than Retry-After, jitter on top, capped, both header forms."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from couponrush.core.retry import backoff_s, retry_after_s

NOW = datetime(2026, 11, 24, 16, 0, 0, tzinfo=UTC).timestamp()


@given(st.integers(0, 30), st.floats(0, 120), st.floats(0, 0.999999))
def test_a_wait_is_at_least_retry_after_and_at_most_it_plus_the_cap(
    attempt: int, retry_after: float, jitter: float
) -> None:
    wait = backoff_s(attempt, retry_after, jitter, base_s=0.05, cap_s=2.0)
    assert retry_after <= wait <= retry_after + 2.0


def test_jitter_spreads_a_herd_over_one_more_retry_after() -> None:
    assert backoff_s(0, 1.0, 0.0) == 1.0
    assert backoff_s(0, 1.0, 0.5) == 1.5
    assert backoff_s(9, 1.0, 0.5, cap_s=2.0) == 2.0  # the window grew to the cap
    assert backoff_s(0, 10.0, 0.5, cap_s=2.0) == 11.0  # the spread is capped, the floor is not


def test_without_retry_after_the_backoff_is_exponential_full_jitter_and_capped() -> None:
    assert [backoff_s(a, 0, 0.999, base_s=0.1, cap_s=1.0) for a in range(6)] == [
        0.0999,
        0.1998,
        0.3996,
        0.7992,
        0.999,
        0.999,
    ]
    assert backoff_s(3, 0, 0.0) == 0.0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_s("3", NOW) == 3.0
    assert retry_after_s(b"1", NOW) == 1.0
    later = format_datetime(datetime.fromtimestamp(NOW + 7, UTC), usegmt=True)
    assert later.endswith("GMT")
    assert retry_after_s(later, NOW) == 7.0
    assert retry_after_s("Tue, 24 Nov 2026 16:00:05 -0000", NOW) == 5.0
    earlier = format_datetime(datetime.fromtimestamp(NOW - 7, UTC), usegmt=True)
    assert retry_after_s(earlier, NOW) == 0.0


def test_an_absent_or_unreadable_retry_after_is_zero() -> None:
    for value in (None, "", "soon", "-1", "1.5", "Tue, 99 Nov 2026 16:00:05 GMT"):
        assert retry_after_s(value, NOW) == 0.0
