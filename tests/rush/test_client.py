from __future__ import annotations

from couponrush.rush.client import RetryPolicy


def test_retry_policy_honours_retry_after_and_caps_backoff() -> None:
    policy = RetryPolicy(attempts=5, base_s=0.1, cap_s=0.5)
    for attempt in range(10):
        assert 0 <= policy.delay(attempt, None) <= 0.5
        assert 2.0 <= policy.delay(attempt, "2") <= 2.5
