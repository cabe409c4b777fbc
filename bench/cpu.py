"""CPU time per answer, by part of the stack: read from /proc before and after a phase.

A shared machine moves throughput by 2x between runs; the CPU time each process spent per
answer moves much less, so the per-part cost of a win is measured this way. The load
generator's own time comes from the kernel's account of the children this process waited
for (wrk, once it has exited).
"""

from __future__ import annotations

import resource
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.common import cpu_seconds

# The parts of the win's path, as a stack's process names start.
PARTS = ("gateway", "app", "redis")


def stack_parts(processes: list[dict[str, Any]]) -> dict[str, list[int]]:
    """The pids of each part among a stack's processes (sentinels and the app's metrics
    server are not on the path; a Redis of replicas counts every data node)."""

    def part(name: str) -> str | None:
        if name == "gateway":
            return "gateway"
        if name.startswith("app-") and name != "app-metrics":
            return "app"
        if name == "redis" or name.startswith("redis-"):
            return "redis"
        return None

    found: dict[str, list[int]] = {p: [] for p in PARTS}
    for process in processes:
        where = part(process["name"])
        if where is not None and process["pid"]:
            found[where].append(int(process["pid"]))
    return found


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Spent:
    """CPU seconds each part spent while the block ran; ``generator``: the load generator."""

    parts: dict[str, float] = field(default_factory=dict)
    generator: float = 0.0

    def per_answer_us(self, answers: int) -> dict[str, float]:
        """Microseconds per answer by part, with ``total`` over the parts (the generator
        apart: it is the client, not the service)."""
        n = max(1, answers)
        found = {p: round(s * 1e6 / n, 2) for p, s in self.parts.items()}
        found["total"] = round(sum(self.parts.values()) * 1e6 / n, 2)
        found["generator"] = round(self.generator * 1e6 / n, 2)
        return found


@contextmanager
def measured(parts: Mapping[str, list[int]]) -> Iterator[Spent]:
    spent = Spent()
    before = {p: cpu_seconds(pids) for p, pids in parts.items()}
    generator = _children_cpu_s()
    yield spent
    spent.parts = {p: cpu_seconds(pids) - before[p] for p, pids in parts.items()}
    spent.generator = _children_cpu_s() - generator


def spread(values: list[float]) -> str:
    """'median (min-max)' of repeated figures."""
    ordered = sorted(values)
    mid = ordered[len(ordered) // 2]
    if len(ordered) == 1:
        return f"{mid:.1f}"
    return f"{mid:.1f} ({ordered[0]:.1f}-{ordered[-1]:.1f})"


def median_by_key(rows: list[dict[str, float]]) -> dict[str, float]:
    """Each key's median over repeated rows of the same keys."""
    return {k: sorted(r[k] for r in rows)[len(rows) // 2] for k in rows[0]}
