"""The request id: the one the gateway (or the client) sent when it is usable, else a new
one. Echoed in every response and bound in the log context (``logs.REQUEST_ID``)."""

from __future__ import annotations

import itertools
import os
import re
from typing import Any

from couponrush.logs import REQUEST_ID
from couponrush.web.problems import Scope, Send

HEADER = b"x-request-id"
usable = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$").match


class RequestIds:
    """New ids, unique per worker start and cheap to make: a random prefix and a counter."""

    def __init__(self) -> None:
        self._prefix = os.urandom(6).hex() + "-"
        self._counter = itertools.count(1)

    def new(self) -> str:
        return f"{self._prefix}{next(self._counter):x}"

    def tagged(self, scope: Scope, send: Send) -> Send:
        """Bind the request's id and return a ``send`` that echoes it (routes off the hot
        path; the issue route does the same inline)."""
        raw = next((v for k, v in scope["headers"] if k == HEADER and usable(v)), None)
        request_id = raw or self.new().encode()
        REQUEST_ID.set(request_id.decode())

        async def send_tagged(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (HEADER, request_id)]
            await send(message)

        return send_tagged
