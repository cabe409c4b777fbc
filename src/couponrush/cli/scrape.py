"""Prometheus text read back: samples summed across processes, rates and quantiles
between two scrapes (what ``couponrush top`` shows)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

Labels = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Scrape:
    """Every sample of some /metrics endpoints at one moment."""

    at: float
    samples: dict[tuple[str, Labels], float] = field(default_factory=dict)

    def sum(self, name: str, **labels: str) -> float:
        """The sum of ``name`` over every series whose labels include ``labels``."""
        wanted = labels.items()
        return sum(v for (n, ls), v in self.samples.items() if n == name and wanted <= ls)

    def by(self, name: str, label: str) -> dict[str, float]:
        found: dict[str, float] = {}
        for (n, ls), v in self.samples.items():
            if n == name:
                key = dict(ls).get(label, "")
                found[key] = found.get(key, 0.0) + v
        return found


def parse(texts: Iterable[str], at: float) -> Scrape:
    scrape = Scrape(at)
    for text in texts:
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                key = (s.name, frozenset(s.labels.items()))
                scrape.samples[key] = scrape.samples.get(key, 0.0) + s.value
    return scrape


async def scrape(http: httpx.AsyncClient, urls: Iterable[str]) -> Scrape:
    """Each URL's text; one that does not answer (a process away) adds nothing."""
    texts = []
    for url in urls:
        try:
            response = await http.get(url)
        except httpx.HTTPError:
            continue
        if response.status_code == 200:
            texts.append(response.text)
    return parse(texts, time.monotonic())


@dataclass(frozen=True)
class Window:
    """Two scrapes: counters become per-second rates, histograms quantiles."""

    before: Scrape
    after: Scrape

    @property
    def seconds(self) -> float:
        return max(1e-9, self.after.at - self.before.at)

    def rate(self, name: str, **labels: str) -> float:
        # A counter that went down was reset by a restart: count from zero.
        delta = self.after.sum(name, **labels) - self.before.sum(name, **labels)
        return (delta if delta >= 0 else self.after.sum(name, **labels)) / self.seconds

    def rates_by(self, name: str, label: str) -> dict[str, float]:
        before = self.before.by(name, label)
        return {
            k: max(0.0, v - before.get(k, 0.0)) / self.seconds
            for k, v in self.after.by(name, label).items()
        }

    def quantile(self, q: float, histogram: str) -> float | None:
        """Like PromQL's histogram_quantile over this window; None without observations."""
        buckets = self.rates_by(f"{histogram}_bucket", "le")
        return quantile(q, {float(le): n for le, n in buckets.items()})


def quantile(q: float, cumulative: Mapping[float, float]) -> float | None:
    bounds = sorted(cumulative)
    if not bounds or cumulative[bounds[-1]] <= 0:
        return None
    rank = q * cumulative[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = cumulative[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower  # beyond the last finite bucket: its upper bound
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = bound, count
    return lower
