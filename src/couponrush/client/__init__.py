"""The Python SDK of the couponrush HTTP API (httpx; ``Client`` and ``AsyncClient``).

Each call comes back with one final answer. 429 and 503 answers, network errors and
timeouts are retried with capped exponential backoff and full jitter, never sooner than
the server's ``Retry-After`` (seconds or an HTTP-date), within a retry budget and an
overall deadline; every try of a call carries the same ``X-Request-ID``. Issuing is
idempotent per user, which makes this safe: a winner's retry gets the same coupon.

``issue`` returns an ``IssueOutcome`` (no exception for ``sold_out``, ``not_open`` or
``closed``); misuse raises a typed ``Rejected`` (400/401/403/404/409/422). Errors and
outcomes carry the API's ``result`` code and say it in English or Korean
(``error.message("ko")``, ``messages.message(result, lang)``); pass
``headers={"Accept-Language": "ko"}`` for the server's own details in Korean.
"""

from couponrush.client import messages
from couponrush.client.aio import AsyncClient
from couponrush.client.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    GaveUp,
    Invalid,
    NotFound,
    Rejected,
    ServerError,
    Unauthorized,
)
from couponrush.client.outcome import Attempt, IssueOutcome
from couponrush.client.policy import RetryPolicy
from couponrush.client.sync import Client

__all__ = [
    "ApiError",
    "AsyncClient",
    "Attempt",
    "BadRequest",
    "Client",
    "Conflict",
    "Forbidden",
    "GaveUp",
    "Invalid",
    "IssueOutcome",
    "NotFound",
    "Rejected",
    "RetryPolicy",
    "ServerError",
    "Unauthorized",
    "messages",
]
