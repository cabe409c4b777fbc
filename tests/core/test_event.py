from __future__ import annotations

import pytest

from couponrush.core.event import event_status


@pytest.mark.parametrize(
    ("remaining", "starts", "ends", "now", "status"),
    [
        (5, 100, None, 99, "scheduled"),
        (5, 100, None, 100, "open"),
        (0, None, None, 1, "sold_out"),
        (5, None, 200, 200, "closed"),
        (0, None, 200, 250, "closed"),
    ],
)
def test_event_status(
    remaining: int, starts: int | None, ends: int | None, now: int, status: str
) -> None:
    assert event_status(remaining, starts, ends, now) == status
