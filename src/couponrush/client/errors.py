"""What the SDK raises: misuse is permanent, a retry budget spent on overload is not.

Every class is under the package's one exception root (``couponrush.core.errors``), so
``isinstance(exc, RetryableError)`` tells whether trying again later can help.
"""

from __future__ import annotations

from couponrush.core.errors import CouponrushError, PermanentError, RetryableError
from couponrush.web.schemas import Problem


class ApiError(CouponrushError):
    """An answer of the HTTP API that is not what the call asked for."""

    def __init__(self, status: int, result: str, detail: str, request_id: str,
                 problem: Problem | None = None) -> None:  # fmt: skip
        super().__init__(f"{status} {result}: {detail} (request id {request_id})")
        self.status = status
        self.result = result
        self.detail = detail
        self.request_id = request_id
        self.problem = problem


class Rejected(ApiError, PermanentError):
    """The request itself is wrong (4xx): sending it again will not help."""


class BadRequest(Rejected):
    """400: the body could not be read."""


class Unauthorized(Rejected):
    """401: no valid admin token."""


class NotFound(Rejected):
    """404: no such event."""


class Conflict(Rejected):
    """409 ``exists``: an event with this id is already set up (possibly by an earlier try
    of the same create whose answer was lost)."""


class Invalid(Rejected):
    """422: an id, a stock or a time the API does not accept."""


class ServerError(ApiError, PermanentError):
    """A 5xx other than 503: a defect of the server, not overload."""


class GaveUp(ApiError, RetryableError):
    """The retry budget or the deadline ran out while the server kept answering 429/503
    or could not be reached."""


_BY_STATUS: dict[int, type[Rejected]] = {
    400: BadRequest, 401: Unauthorized, 404: NotFound, 409: Conflict, 422: Invalid,
}  # fmt: skip


def error_class(status: int, retryable: bool) -> type[ApiError]:
    if retryable:
        return GaveUp
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, Rejected)
