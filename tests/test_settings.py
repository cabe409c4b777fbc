from __future__ import annotations

import pytest
from pydantic import SecretStr

from couponrush.core.errors import ConfigError
from couponrush.settings import Settings

STRONG = "x" * 24


@pytest.mark.parametrize("token", ["", "changeme", "admin", "short-token"])
def test_refuses_an_empty_default_or_short_admin_token(token: str) -> None:
    settings = Settings(admin_token=SecretStr(token), coupon_secret=SecretStr(STRONG))
    with pytest.raises(ConfigError, match="COUPONRUSH_ADMIN_TOKEN"):
        settings.check_secrets()


def test_refuses_a_missing_coupon_secret() -> None:
    settings = Settings(admin_token=SecretStr(STRONG))
    with pytest.raises(ConfigError, match="COUPONRUSH_COUPON_SECRET"):
        settings.check_secrets()


def test_accepts_strong_secrets_and_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COUPONRUSH_ADMIN_TOKEN", STRONG)
    monkeypatch.setenv("COUPONRUSH_COUPON_SECRET", STRONG)
    monkeypatch.setenv("COUPONRUSH_WORKERS", "3")
    settings = Settings()
    settings.check_secrets()
    assert settings.workers == 3
