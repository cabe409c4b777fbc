"""Two clocks per client, merged across generator processes, and goodput."""

from __future__ import annotations

from couponrush.rush.recorder import Recorder
from couponrush.rush.report import goodput, issuing
from couponrush.rush.runner import Merged


def test_the_wait_counts_from_arrival_and_processes_merge() -> None:
    first, second = Recorder(), Recorder()
    first.answered(0.05, 40_000, 201, "issued")
    first.finished(0.05, 0.0, "issued", {"slot": 1, "coupon_code": "A"}, "u1")
    second.answered(3.5, 20_000, 429, "rate_limited")
    second.answered(4.0, 20_000, 410, "sold_out")
    second.finished(4.0, 1.0, "sold_out", {}, "u2")  # arrived at 1 s, answered at 4 s
    merged = Merged()
    for part in (first.export(), second.export()):
        merged.merge(part)
    assert merged.final == {"issued": 1, "sold_out": 1}
    assert merged.statuses == {201: 1, 429: 1, 410: 1}
    assert merged.winners == [("u1", 1, "A")]
    assert 2_990_000 <= merged.waited.get_max_value() <= 3_010_000  # 3 s, not 20 ms
    assert merged.latency.get_max_value() < 50_000
    assert set(merged.waited_by_s) == {0, 4}
    assert merged.early_by_ds[0]["issued"] == 1
    assert merged.early_by_ds[35]["rate_limited"] == 1
    assert merged.first_sold_out_s == 4.0


def test_goodput_is_wins_per_second_while_selling() -> None:
    rec = Merged()
    for second, wins in ((2, 300), (3, 500), (4, 200)):
        for i in range(wins):
            rec.finished(second + 0.5, 0.0, "issued", {"slot": i + 1}, f"u{second}-{i}")
    assert goodput(rec) == {"wins_per_s": 333.3, "peak_wins_per_s": 500, "window_s": 3}


def test_the_issuing_phase_is_until_the_first_sold_out() -> None:
    rec = Merged()
    for i in range(100):  # wins at 0.5 s and 1.5 s, each client waited 0.5 s
        rec.finished(0.5 + i // 50, i // 50, "issued", {"slot": i + 1}, f"u{i}")
    rec.finished(2.0, 1.0, "sold_out", {}, "late")
    rec.finished(9.5, 0.0, "sold_out", {}, "waited-long")  # after: not in the phase
    phase = issuing(rec)
    assert (phase["wins"], phase["sold_out_after_s"], phase["wins_per_s"]) == (100, 2.0, 50.0)
    assert 490 <= phase["client_wait_ms"]["p50"] <= 510
    assert 990 <= phase["client_wait_ms"]["max"] <= 1010
