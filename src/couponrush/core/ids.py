"""The rules for event and user ids, and the largest stock an event may have."""

from __future__ import annotations

import re

EVENT_ID_RE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
USER_ID_RE = r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$"
EVENT_ID_MATCH = re.compile(EVENT_ID_RE).match
USER_ID_MATCH = re.compile(USER_ID_RE).match
EVENT_ID_RULE = "1-64 characters: letters, digits, '.', '_', '-'; starting with a letter or digit"
USER_ID_RULE = (
    "1-128 characters: letters, digits, '.', '_', ':', '@', '+', '-'; "
    "starting with a letter or digit"
)
MAX_TOTAL_STOCK = 10_000_000
