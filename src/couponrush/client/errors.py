"""What the SDK raises: misuse is permanent, a retry budget spent on overload is not.

Every class is under the package's one exception root (``couponrush.core.errors``), so
``isinstance(exc, RetryableError)`` tells whether trying again later can help. Programs
compare ``result`` (a code that never changes); ``message(lang)`` and ``title(lang)`` say
it to a person in English or Korean (client/messages.py: the server's catalogues).
"""

from __future__ import annotations

import httpx

from couponrush.client import messages
from couponrush.core.errors import CouponrushError, PermanentError, RetryableError
from couponrush.core.retry import RETRYABLE_STATUSES
from couponrush.web.schemas import Problem


class ApiError(CouponrushError):
    """An answer of the HTTP API that is not what the call asked for."""

    def __init__(
        self, status: int, result: str, detail: str, request_id: str, problem: Problem | None = None
    ) -> None:
        super().__init__(f"{status} {result}: {detail} (request id {request_id})")
        self.status = status
        self.result = result
        self.detail = detail
        self.request_id = request_id
        self.problem = problem

    def title(self, lang: str = "en") -> str:
        """The result code's short name in ``lang`` ("en" or "ko")."""
        return messages.title(self.result, lang)

    def message(self, lang: str = "en") -> str:
        """What the result code means in ``lang``; the server's detail for a code the
        catalogues do not know."""
        return messages.message(self.result, lang, self.detail)


class Rejected(ApiError, PermanentError):
    """The request itself is wrong (4xx): sending it again will not help."""


class BadRequest(Rejected):
    """400: the body could not be read."""


class Unauthorized(Rejected):
    """401: no valid admin token."""


class Forbidden(Rejected):
    """403: the token's scope does not allow the call."""


class NotFound(Rejected):
    """404: no such event (or coupon)."""


class Conflict(Rejected):
    """409: the state refuses the call, e.g. ``exists`` (an event with this id and another
    definition), ``already_redeemed``, ``not_finished``; ``result`` says which."""


class Invalid(Rejected):
    """422: an id, a stock or a time the API does not accept."""


class ServerError(ApiError, PermanentError):
    """A 5xx other than 503: a defect of the server, not overload."""


class GaveUp(ApiError, RetryableError):
    """The retry budget or the deadline ran out while the server kept answering 429/503
    or could not be reached."""


_BY_STATUS: dict[int, type[Rejected]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
    422: Invalid,
}  # fmt: skip


def error_class(status: int, retryable: bool) -> type[ApiError]:
    if retryable:
        return GaveUp
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, Rejected)


def refused(response: httpx.Response) -> ApiError:
    """The typed error of an answer read outside the retrying calls (a stream's)."""
    try:
        problem: Problem | None = Problem.model_validate(response.json())
    except ValueError:
        problem = None
    result = problem.result if problem else "http_error"
    detail = problem.detail if problem else response.text[:200]
    kind = error_class(response.status_code, response.status_code in RETRYABLE_STATUSES)
    return kind(
        response.status_code, result, detail, response.headers.get("x-request-id", ""), problem
    )
