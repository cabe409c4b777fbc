"""couponrush: first-come-first-served coupon issuance for flash events."""

__version__ = "0.1.0"
