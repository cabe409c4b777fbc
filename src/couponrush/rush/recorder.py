"""What one generator process saw: latencies, outcomes over time, winners.

Two clocks per client: the latency of each request (what a closed-model generator usually
reports) and the client's wait from its arrival (its scheduled start) to its final answer,
which includes every queue and every Retry-After it sat out: what a shopper feels.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

MAX_LATENCY_US = 120_000_000
# Final answers that say nothing about a win: an earlier try may have won in Redis before
# its answer was lost, so the client may or may not hold a coupon.
UNDECIDED = frozenset({"unavailable", "overloaded", "network_error", "rate_limited"})
MAX_WAIT_US = 900_000_000  # a client's wait can span the whole run
EARLY_WINDOW_DS = 100  # the first 10 s, in tenths of a second, for the zoomed panel


def new_histogram(highest_us: int = MAX_LATENCY_US) -> HdrHistogram:
    return HdrHistogram(1, highest_us, 3)


def new_wait_histogram() -> HdrHistogram:
    return new_histogram(MAX_WAIT_US)


def _within(value: int, highest: int) -> int:
    """A histogram's range is 1..highest: anything outside counts at its edge."""
    return min(max(value, 1), highest)


def _record(hists: dict[int, HdrHistogram], key: int, value: int, highest: int) -> None:
    """``value`` already ``_within`` the range."""
    hist = hists.get(key)
    if hist is None:
        hist = hists[key] = new_histogram(highest)
    hist.record_value(value)


def _counts() -> defaultdict[int, Counter[str]]:
    return defaultdict(Counter)


@dataclass
class Recorder:
    latency: HdrHistogram = field(default_factory=new_histogram)
    waited: HdrHistogram = field(default_factory=new_wait_histogram)
    # second since start -> its own histogram and counts
    latency_by_s: dict[int, HdrHistogram] = field(default_factory=dict)
    # second of the final answer -> how long those clients had waited since they arrived
    waited_by_s: dict[int, HdrHistogram] = field(default_factory=dict)
    sent_by_s: Counter[int] = field(default_factory=Counter)
    answers_by_s: defaultdict[int, Counter[str]] = field(default_factory=_counts)
    finals_by_s: defaultdict[int, Counter[str]] = field(default_factory=_counts)
    early_by_ds: defaultdict[int, Counter[str]] = field(default_factory=_counts)
    final: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    winners: list[tuple[str, int, str]] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)
    # Every answer, when the plan keeps a history: (seconds since the opening, user, HTTP
    # status or 0 for a network error, result code, slot or 0).
    history: list[tuple[float, str, int, str, int]] = field(default_factory=list)
    retries: int = 0
    network_errors: int = 0
    first_sold_out_s: float | None = None
    last_final_s: float = 0.0
    unfinished: int = 0

    def sent(self, second: int) -> None:
        self.sent_by_s[second] += 1

    def answered(self, at_s: float, latency_us: int, status: int, result: str) -> None:
        value = _within(latency_us, MAX_LATENCY_US)
        self.latency.record_value(value)
        _record(self.latency_by_s, int(at_s), value, MAX_LATENCY_US)
        self.answers_by_s[int(at_s)][result] += 1
        if at_s * 10 < EARLY_WINDOW_DS:
            self.early_by_ds[int(at_s * 10)][result] += 1
        self.statuses[status] += 1

    def finished(
        self, at_s: float, arrived_s: float, result: str, body: dict[str, Any], user: str
    ) -> None:
        """The client's final answer at ``at_s``; it arrived (was due to start) at
        ``arrived_s``, both in seconds since the opening."""
        self.final[result] += 1
        self.finals_by_s[int(at_s)][result] += 1
        wait_us = _within(int((at_s - arrived_s) * 1e6), MAX_WAIT_US)
        self.waited.record_value(wait_us)
        _record(self.waited_by_s, int(at_s), wait_us, MAX_WAIT_US)
        self.last_final_s = max(self.last_final_s, at_s)
        if result == "sold_out" and self.first_sold_out_s is None:
            self.first_sold_out_s = at_s
        if result in ("issued", "already_issued"):
            self.winners.append((user, int(body.get("slot", 0)), str(body.get("coupon_code"))))
        elif result in UNDECIDED:
            self.undecided.append(user)

    def export(self) -> dict[str, Any]:
        """Plain values to send to the parent process."""
        out: dict[str, Any] = {n: getattr(self, n).encode() for n in _HISTS}
        out |= {n: {k: h.encode() for k, h in getattr(self, n).items()} for n in _HIST_MAPS}
        out |= {n: {k: dict(c) for k, c in getattr(self, n).items()} for n in _COUNT_MAPS}
        out |= {n: dict(getattr(self, n)) for n in _COUNTERS}
        out |= {n: getattr(self, n) for n in _PLAIN}
        return out

    def merge(self, part: dict[str, Any]) -> None:
        """Add what another process exported."""
        for name in _HISTS:
            getattr(self, name).add(HdrHistogram.decode(part[name]))
        for name in _HIST_MAPS:
            mine: dict[int, HdrHistogram] = getattr(self, name)
            for key, encoded in part[name].items():
                theirs = HdrHistogram.decode(encoded)
                mine.setdefault(key, new_histogram(theirs.highest_trackable_value))
                mine[key].add(theirs)
        for name in _COUNT_MAPS:
            for key, counts in part[name].items():
                getattr(self, name)[key].update(counts)
        for name in _COUNTERS:
            getattr(self, name).update(part[name])
        self.winners.extend(part["winners"])
        self.undecided.extend(part["undecided"])
        self.history.extend(tuple(h) for h in part["history"])
        self.retries += part["retries"]
        self.network_errors += part["network_errors"]
        self.unfinished += part["unfinished"]
        firsts = [s for s in (self.first_sold_out_s, part["first_sold_out_s"]) if s is not None]
        self.first_sold_out_s = min(firsts) if firsts else None
        self.last_final_s = max(self.last_final_s, part["last_final_s"])


_HISTS = ("latency", "waited")
_HIST_MAPS = ("latency_by_s", "waited_by_s")
_COUNT_MAPS = ("answers_by_s", "finals_by_s", "early_by_ds")
_COUNTERS = ("sent_by_s", "final", "statuses")
_PLAIN = (
    "winners",
    "undecided",
    "history",
    "retries",
    "network_errors",
    "first_sold_out_s",
    "last_final_s",
    "unfinished",
)
