"""When a client should try an issue request again, and how long it waits first.

Retrying is safe because issuing is idempotent per user: a retry of a win gets the same
coupon back. A client never comes back sooner than the server's ``Retry-After``; on top
of it comes jitter, so that a herd told "1 s" does not return in the same millisecond.
Shared by the SDK (``couponrush.client``) and the load generator's engine.
"""

from __future__ import annotations

from datetime import UTC
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({429, 503})
BASE_S = 0.05
CAP_S = 2.0


def backoff_s(
    attempt: int, retry_after_s: float, jitter: float, base_s: float = BASE_S, cap_s: float = CAP_S
) -> float:
    """Seconds to wait after the failed try number ``attempt`` (0-based).

    At least ``retry_after_s`` (0 when the server sent none), plus full jitter
    (``jitter`` in [0, 1)) over a window that grows exponentially from ``base_s`` but is
    never below the Retry-After (a herd is spread over at least one more such window) and
    never above ``cap_s``.
    """
    floor = max(0.0, retry_after_s)
    window = min(cap_s, max(floor, base_s * 2.0**attempt))
    return floor + jitter * window


def retry_after_s(value: str | bytes | None, now_s: float) -> float:
    """A ``Retry-After`` header as seconds from ``now_s`` (a Unix time): delay-seconds or
    an HTTP-date; 0 when absent, unreadable or already past."""
    if value is None:
        return 0.0
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return 0.0
    if when.tzinfo is None:  # "-0000": RFC 9110 says an HTTP-date is GMT anyway
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now_s)
