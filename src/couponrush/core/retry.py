"""When a client should try an issue request again, and how long it waits first.

Retrying is safe because issuing is idempotent per user: a retry of a win gets the same
coupon back.
"""

from __future__ import annotations

RETRYABLE_STATUSES = frozenset({429, 503})
BASE_S = 0.05
CAP_S = 2.0


def backoff_s(attempt: int, retry_after_s: float, jitter: float, base_s: float = BASE_S,
              cap_s: float = CAP_S) -> float:  # fmt: skip
    """Retry-After when the server sent one (spread by ``jitter`` in [0, 1)), else a
    capped exponential backoff with full jitter."""
    if retry_after_s > 0:
        return retry_after_s * (0.5 + jitter / 2)
    return jitter * min(cap_s, base_s * 2.0**attempt)
