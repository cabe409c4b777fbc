"""What one call came back with: every try it took, and the final answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from couponrush.client import messages
from couponrush.web.schemas import IssueResponse, Problem

WIN_RESULTS = frozenset({"issued", "already_issued"})
# Definite answers of the issue route that are not a coupon and not a misuse.
NO_COUPON_RESULTS = frozenset({"sold_out", "not_open", "closed"})
NETWORK_ERROR = "network_error"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try: its answer, the ``Retry-After`` it carried and the wait that followed."""

    status: int  # 0: no answer (network error or timeout)
    result: str  # the body's result code, or network_error
    retry_after_s: float  # what the server asked for (0: nothing)
    wait_s: float  # how long the client waited before the next try (0: none followed)
    sent_at: float  # monotonic clock (time.monotonic) when the try was sent
    answered_at: float  # and when its answer or failure came back
    error: str | None = None  # the exception's type name when status is 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "result": self.result,
            "retry_after_s": self.retry_after_s,
            "wait_s": round(self.wait_s, 3),
            "latency_s": round(self.answered_at - self.sent_at, 4),
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Reply:
    """The last answer of a call, with the tries that led to it."""

    status: int
    body: dict[str, Any]
    request_id: str
    attempts: tuple[Attempt, ...]

    @property
    def result(self) -> str:
        return self.attempts[-1].result

    @property
    def problem(self) -> Problem | None:
        try:
            return Problem.model_validate(self.body)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class IssueOutcome:
    """The one final outcome of an issue call.

    ``result`` is ``issued`` or ``already_issued`` (``coupon`` holds it), ``sold_out``,
    ``not_open`` or ``closed`` (``problem`` says more); or, when the retry budget or the
    deadline ran out first, the last retryable answer: ``rate_limited``, ``overloaded``,
    ``unavailable`` or ``network_error`` (then ``final`` is False).
    """

    event_id: str
    user_id: str
    result: str
    status: int
    request_id: str
    attempts: tuple[Attempt, ...]
    coupon: IssueResponse | None = None
    problem: Problem | None = None

    @property
    def won(self) -> bool:
        return self.result in WIN_RESULTS

    @property
    def final(self) -> bool:
        """A definite answer, not a give-up."""
        return self.won or self.result in NO_COUPON_RESULTS

    def message(self, lang: str = "en") -> str:
        """What the outcome means to the shopper, in ``lang`` ("en" or "ko")."""
        return messages.message(self.result, lang)

    def as_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "final": self.final,
            "status": self.status,
            "event_id": self.event_id,
            "user_id": self.user_id,
            "request_id": self.request_id,
            "coupon": self.coupon.model_dump(mode="json") if self.coupon else None,
            "problem": self.problem.model_dump(mode="json") if self.problem else None,
            "attempts": [a.as_dict() for a in self.attempts],
        }
