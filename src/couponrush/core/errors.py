"""One exception root; retryable versus permanent is a type.

Adapters translate their library's errors into these at the edge, so callers decide
with ``isinstance`` whether trying again can help.
"""

from __future__ import annotations


class CouponrushError(Exception):
    """Root of every error this package raises on purpose."""


class RetryableError(CouponrushError):
    """The operation may succeed if tried again later (the answer is 503 + Retry-After)."""


class PermanentError(CouponrushError):
    """Trying again will not help."""


class StoreUnavailable(RetryableError):
    """Redis did not answer in time or the connection failed."""


class DatabaseUnavailable(RetryableError):
    """PostgreSQL did not answer, refused the connection or is restarting."""


class BrokerUnavailable(RetryableError):
    """Kafka did not confirm delivery in time."""


class BrokerFatal(CouponrushError):
    """Kafka's client reported a fatal error: it cannot go on, so the process stops with
    its batch unacknowledged and its supervisor starts it afresh."""


class Overloaded(RetryableError):
    """This worker is at its in-flight bound."""


class BodyTooLarge(PermanentError):
    """A request body over the configured limit."""


class ConfigError(PermanentError):
    """The settings are unusable (missing secret, default token, bad value)."""


class NotAuthenticated(PermanentError):
    """No valid signed identity: the token is missing, malformed, forged or expired."""


class IdentityUnavailable(RetryableError):
    """The shop's key set (JWKS) could not be fetched: the token may well be valid."""


class NotYours(PermanentError):
    """A valid identity asked for another user's coupon."""


class EventExists(PermanentError):
    """An event with that id is already set up."""


class CouponMismatch(EventExists):
    """An event id already has a coupons row with other values."""


class EventNotFound(PermanentError):
    """No event with that id."""


class Refused(PermanentError):
    """A valid request that the state of its event or coupon does not allow; ``result`` is
    the stable code of the answer (409)."""

    def __init__(self, result: str, detail: str) -> None:
        super().__init__(detail)
        self.result = result
        self.detail = detail


class NoQueue(PermanentError):
    """The event opens first come, first served: it has no queue to join or read."""


class CouponNotFound(PermanentError):
    """No persisted coupon with that code."""


class NoDatabase(RetryableError):
    """This process was started without COUPONRUSH_DATABASE_URL, and the request needs it."""


class BadMessage(PermanentError):
    """A queued win that cannot be understood; retrying it cannot help."""


class RedisStateExists(PermanentError):
    """Restore would overwrite an event that Redis still holds."""


class StackError(CouponrushError):
    """The local stack could not be started, stopped or inspected."""
