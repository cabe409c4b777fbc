"""What the sync and async clients share: settings, headers and the request of a try."""

from __future__ import annotations

import functools
import ssl
import uuid
from collections.abc import Mapping
from typing import Any

import httpx

from couponrush import __version__
from couponrush.client.calls import Call
from couponrush.client.policy import Retrier, RetryPolicy

USER_AGENT = f"couponrush-sdk/{__version__}"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One per process: building one costs tens of milliseconds, which adds up for a
    program that opens a client per simulated user."""
    return httpx.create_ssl_context()


def new_request_id() -> str:
    """Matches the API's request id rule (1-64 of letters, digits, '.', '_', ':', '-')."""
    return f"sdk-{uuid.uuid4().hex}"


class ClientBase:
    def __init__(self, admin_token: str | None, policy: RetryPolicy | None) -> None:
        self.admin_token = admin_token
        self.policy = policy or RetryPolicy()

    @staticmethod
    def http_options(
        base_url: str, headers: Mapping[str, str] | None, limits: httpx.Limits | None
    ) -> dict[str, Any]:
        options: dict[str, Any] = {
            "base_url": base_url,
            "verify": tls_context(),
            "headers": {"User-Agent": USER_AGENT, **(headers or {})},
        }
        if limits is not None:
            options["limits"] = limits
        return options

    def token(self) -> str:
        if not self.admin_token:
            raise ValueError("this call needs the client's token (admin_token=...)")
        return self.admin_token

    def retrier(self, call: Call[Any]) -> Retrier:
        return Retrier(self.policy, call.request_id or new_request_id())

    @staticmethod
    def build(
        http: httpx.Client | httpx.AsyncClient, call: Call[Any], retrier: Retrier
    ) -> httpx.Request:
        """One try of ``call``; every try of a call carries the same request id."""
        headers = {**call.headers, "X-Request-ID": retrier.request_id}
        return http.build_request(
            call.method, call.path, json=call.json, headers=headers, timeout=retrier.start()
        )
