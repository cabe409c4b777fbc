"""The app's metrics: plain numbers on the hot path, the same histograms once flushed."""

from __future__ import annotations

import random

from prometheus_client import CollectorRegistry, Histogram

from couponrush.web.metrics import LATENCY_BUCKETS, Metrics, Tally


def test_a_tally_flushed_equals_observing_each_value() -> None:
    registry = CollectorRegistry()
    expected = Histogram("expected_seconds", "", buckets=LATENCY_BUCKETS, registry=registry)
    tally = Tally(Histogram("tallied_seconds", "", buckets=LATENCY_BUCKETS, registry=registry))
    values = [random.expovariate(100) for _ in range(1000)] + [0.0, 0.05, 10.0]
    for v in values:
        expected.observe(v)
        tally.observe(v)
    tally.flush()
    tally.flush()  # a second flush adds nothing
    for le in [{"le": str(b)} for b in LATENCY_BUCKETS[:-1]] + [{"le": "+Inf"}]:
        assert registry.get_sample_value("tallied_seconds_bucket", le) == (
            registry.get_sample_value("expected_seconds_bucket", le)
        ), le
    assert registry.get_sample_value("tallied_seconds_sum") == (
        registry.get_sample_value("expected_seconds_sum")
    )


def test_batches_in_flight_and_rejections() -> None:
    metrics = Metrics()
    metrics.watch_in_flight(lambda: 7)
    metrics.observe_batch(3, 0.0004)
    metrics.observe_batch(300, 0.002)
    metrics.count_issue("overloaded", 0.0001)
    metrics.flush()
    value = metrics.registry.get_sample_value
    assert value("couponrush_redis_batch_size_count") == 2
    assert value("couponrush_redis_batch_size_sum") == 303
    assert value("couponrush_redis_batch_size_bucket", {"le": "4.0"}) == 1
    assert value("couponrush_redis_round_trip_seconds_bucket", {"le": "0.0005"}) == 1
    assert value("couponrush_issue_in_flight") == 7
    assert value("couponrush_admission_rejections_total") == 1
    assert b"couponrush_issue_requests_total" in metrics.render()[0]
