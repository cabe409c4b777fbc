from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from couponrush.core.errors import ConfigError
from couponrush.settings import SECRET_FILES, Settings

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


def test_the_edge_polls_at_least_twice_a_lease_and_the_fence_outwaits_the_lease() -> None:
    with pytest.raises(ValidationError, match="edge_poll_ms"):
        Settings(edge_poll_ms=600, soldout_lease_ms=1000)
    settings = Settings(edge_poll_ms=500, soldout_lease_ms=1000)
    assert settings.fence_wait_s > 1.0


def test_metrics_readers_are_cidrs_from_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUPONRUSH_GATEWAY_METRICS_FROM", "10.0.0.0/8, 192.168.1.7")
    assert Settings().gateway_metrics_from == ["10.0.0.0/8", "192.168.1.7/32"]


def test_jwt_algorithms_are_the_asymmetric_families_only() -> None:
    families = [
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "ES512",
        "EdDSA",
    ]
    assert Settings(jwt_algorithms=families).jwt_algorithms == families
    for symmetric in ("HS256", "HS512", "none"):
        with pytest.raises(ValidationError, match="jwt_algorithms"):
            Settings(jwt_algorithms=["RS256", symmetric])


def test_the_kafka_topic_wants_no_more_in_sync_copies_than_copies() -> None:
    with pytest.raises(ValidationError, match="kafka_min_insync_replicas"):
        Settings(kafka_replication_factor=1, kafka_min_insync_replicas=2)
    found = Settings()
    assert (found.kafka_partitions, found.kafka_replication_factor) == (12, 3)
    assert found.kafka_min_insync_replicas == 2


def test_the_poll_interval_is_at_least_the_consumers_session() -> None:
    with pytest.raises(ValidationError, match="kafka_max_poll_interval_ms"):
        Settings(kafka_max_poll_interval_ms=5_999)


def test_a_secret_comes_from_its_file_less_the_line_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SECRET_FILES:
        (tmp_path / name).write_text(f"{name}-value\n")
        monkeypatch.setenv(f"COUPONRUSH_{name.upper()}_FILE", str(tmp_path / name))
    settings = Settings()
    for name in SECRET_FILES:
        assert getattr(settings, name).get_secret_value() == f"{name}-value"
    assert "value" not in repr(settings)


def test_a_secret_and_its_file_together_or_a_missing_file_are_refused(tmp_path: Path) -> None:
    (tmp_path / "p").write_text("x")
    with pytest.raises(ValidationError, match="not both"):
        Settings(redis_password=SecretStr("y"), redis_password_file=tmp_path / "p")
    with pytest.raises(ValidationError, match="database_password_file"):
        Settings(database_password_file=tmp_path / "missing")


def test_database_connect_args_hold_only_what_is_set() -> None:
    assert Settings().database_connect_args() == {}
    found = Settings(database_password=SecretStr("pw"), database_sslmode="require")
    assert found.database_connect_args() == {"password": "pw", "ssl": "require"}
    with pytest.raises(ValidationError):
        Settings(database_sslmode="sometimes")
