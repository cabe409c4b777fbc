"""Coupon codes: unguessable, and the same for the same (event, slot, user)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any


def _sha256(data: bytes = b"") -> Any:
    return hashlib.sha256(data)


class CodeSigner:
    def __init__(self, secret: bytes) -> None:
        # HMAC-SHA256 keyed once, by hmac's own construction over hashlib objects: a copy
        # per code costs half of hmac.digest, whose one-shot call sets the key up each time.
        self._keyed = hmac.new(secret, digestmod=_sha256)

    def code(self, event_id: str, slot: int, user_id: str) -> str:
        # \x1f cannot occur in validated ids, so the message is unambiguous.
        message = f"{event_id}\x1f{slot}\x1f{user_id}".encode()
        mac = self._keyed.copy()
        mac.update(message)
        digest = mac.digest()
        text = base64.b32encode(digest[:10]).decode()
        return f"{text[:4]}-{text[4:8]}-{text[8:12]}-{text[12:16]}"
