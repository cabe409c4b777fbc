"""Coupon codes: unguessable, and the same for the same (event, slot, user)."""

from __future__ import annotations

import base64
import hashlib
import hmac


class CodeSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def code(self, event_id: str, slot: int, user_id: str) -> str:
        # \x1f cannot occur in validated ids, so the message is unambiguous.
        message = f"{event_id}\x1f{slot}\x1f{user_id}".encode()
        digest = hmac.digest(self._secret, message, hashlib.sha256)
        text = base64.b32encode(digest[:10]).decode()
        return f"{text[:4]}-{text[4:8]}-{text[8:12]}-{text[12:16]}"
