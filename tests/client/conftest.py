"""The gateway fixtures of tests/gateway, for the SDK's and the browser's tests."""

from tests.gateway.conftest import start_gateway

__all__ = ["start_gateway"]
