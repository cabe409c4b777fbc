"""A whole local stack of its own per test (see tests.helpers.local_stack_env)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import local_stack_env


@pytest.fixture
def stack_env() -> Iterator[dict[str, str]]:
    with local_stack_env(workers=1) as env:
        yield env
