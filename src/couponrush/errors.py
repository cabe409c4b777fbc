"""One exception root; retryable versus permanent is a type."""

from __future__ import annotations


class CouponrushError(Exception):
    """Root of every error this package raises on purpose."""


class RetryableError(CouponrushError):
    """The operation may succeed if tried again later (the answer is 503 + Retry-After)."""


class PermanentError(CouponrushError):
    """Trying again will not help."""


class StoreUnavailable(RetryableError):
    """Redis did not answer in time or the connection failed."""


class Overloaded(RetryableError):
    """This worker is at its in-flight bound."""


class BodyTooLarge(PermanentError):
    """A request body over the configured limit."""


class ConfigError(PermanentError):
    """The settings are unusable (missing secret, default token, bad value)."""


class EventExists(PermanentError):
    """An event with that id is already set up."""


class EventNotFound(PermanentError):
    """No event with that id."""


class StackError(CouponrushError):
    """The local stack could not be started, stopped or inspected."""
