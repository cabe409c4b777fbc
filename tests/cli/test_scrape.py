"""What `couponrush top` computes from two scrapes: rates, and quantiles like PromQL's."""

from __future__ import annotations

import pytest

from couponrush.cli.scrape import Window, parse, quantile

TEXT = """# TYPE couponrush_issue_requests_total counter
couponrush_issue_requests_total{{result="issued"}} {issued}
couponrush_issue_requests_total{{result="sold_out"}} {sold_out}
# TYPE lat_seconds histogram
lat_seconds_bucket{{le="0.001"}} {fast}
lat_seconds_bucket{{le="0.01"}} {slow}
lat_seconds_bucket{{le="+Inf"}} {slow}
lat_seconds_count {slow}
lat_seconds_sum 0
"""


def test_rates_and_quantiles_between_two_scrapes() -> None:
    before = parse([TEXT.format(issued=10, sold_out=0, fast=0, slow=0)], at=100.0)
    after = parse(
        [
            TEXT.format(issued=30, sold_out=50, fast=50, slow=100),
            TEXT.format(issued=0, sold_out=50, fast=0, slow=0),
        ],
        at=102.0,
    )
    window = Window(before, after)
    assert window.rate("couponrush_issue_requests_total", result="issued") == 10.0
    assert window.rates_by("couponrush_issue_requests_total", "result") == {
        "issued": 10.0,
        "sold_out": 50.0,
    }
    assert window.quantile(0.5, "lat_seconds") == pytest.approx(0.001)
    assert window.quantile(0.75, "lat_seconds") == pytest.approx(0.0055)
    assert Window(before, before).quantile(0.99, "lat_seconds") is None


def test_a_quantile_beyond_the_last_bucket_is_its_bound() -> None:
    assert quantile(0.99, {0.1: 10.0, float("inf"): 100.0}) == 0.1
    assert quantile(0.5, {}) is None
