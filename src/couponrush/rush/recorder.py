"""What one generator process saw: latencies, outcomes over time, winners."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

MAX_LATENCY_US = 120_000_000


def new_histogram() -> HdrHistogram:
    return HdrHistogram(1, MAX_LATENCY_US, 3)


@dataclass
class Recorder:
    latency: HdrHistogram = field(default_factory=new_histogram)
    # second since start -> its own histogram and counts
    latency_by_s: dict[int, HdrHistogram] = field(default_factory=dict)
    sent_by_s: Counter[int] = field(default_factory=Counter)
    answers_by_s: defaultdict[int, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    final: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    winners: list[tuple[str, int, str]] = field(default_factory=list)
    retries: int = 0
    network_errors: int = 0
    first_sold_out_s: float | None = None
    last_final_s: float = 0.0
    unfinished: int = 0

    def sent(self, second: int) -> None:
        self.sent_by_s[second] += 1

    def answered(self, second: int, latency_us: int, status: int, result: str) -> None:
        value = min(max(latency_us, 1), MAX_LATENCY_US)
        self.latency.record_value(value)
        hist = self.latency_by_s.get(second)
        if hist is None:
            hist = self.latency_by_s[second] = new_histogram()
        hist.record_value(value)
        self.answers_by_s[second][result] += 1
        self.statuses[status] += 1

    def finished(self, at_s: float, result: str, body: dict[str, Any], user: str) -> None:
        self.final[result] += 1
        self.last_final_s = max(self.last_final_s, at_s)
        if result == "sold_out" and self.first_sold_out_s is None:
            self.first_sold_out_s = at_s
        if result in ("issued", "already_issued"):
            self.winners.append((user, int(body.get("slot", 0)), str(body.get("coupon_code"))))

    def export(self) -> dict[str, Any]:
        """Plain values to send to the parent process."""
        return {
            "latency": self.latency.encode(),
            "latency_by_s": {s: h.encode() for s, h in self.latency_by_s.items()},
            "sent_by_s": dict(self.sent_by_s),
            "answers_by_s": {s: dict(c) for s, c in self.answers_by_s.items()},
            "final": dict(self.final),
            "statuses": dict(self.statuses),
            "winners": self.winners,
            "retries": self.retries,
            "network_errors": self.network_errors,
            "first_sold_out_s": self.first_sold_out_s,
            "last_final_s": self.last_final_s,
            "unfinished": self.unfinished,
        }
