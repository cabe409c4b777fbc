"""Shared fixtures; those of the real services are plugins under tests/fixtures."""

from __future__ import annotations

import secrets

import pytest


@pytest.fixture
def event_id(request: pytest.FixtureRequest) -> str:
    """A fresh event id per test, readable in Redis when a test fails."""
    name = request.node.name.replace("[", "-").replace("]", "").replace("_", "-")[:40]
    return f"t-{name}-{secrets.token_hex(3)}"
