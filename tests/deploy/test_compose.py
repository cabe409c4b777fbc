"""deploy/compose.yaml: the compose-spec schema, start order, health and secrets."""

from __future__ import annotations

import re
import sys

import pytest

from couponrush.stack import redis_acl
from tests.deploy.manifests import (
    COMPOSE,
    COMPOSE_ENV_EXAMPLE,
    DEPLOY,
    ROOT,
    compose_env,
    run,
    services,
)

# Services that run once and exit; everything else runs for good.
ONE_SHOT = {"migrate", "redis-cluster-init", "kafka-init", "cli"}
SECRETS = {
    "COUPONRUSH_ADMIN_TOKEN",
    "COUPONRUSH_COUPON_SECRET",
    "POSTGRES_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
    *redis_acl.USERS.values(),
}
# A URL with a password in it (user:password@host).
URL_PASSWORD = re.compile(r"://[^/@]*:[^/@]*@")
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?])?")


def test_matches_the_compose_specification() -> None:
    # The compose-spec JSON schema vendored in check-jsonschema: no network needed.
    done = run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE),
        ]
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_services_of_the_design() -> None:
    found = services()
    assert {
        "gateway",
        "app",
        "migrate",
        "relay",
        "consumer",
        "postgres",
        "prometheus",
        "grafana",
        "redis-cluster-init",
        "kafka-init",
    } <= set(found)
    assert found["app"]["deploy"]["replicas"] == 3
    assert found["consumer"]["deploy"]["replicas"] == 2
    assert sorted(n for n in found if re.fullmatch(r"redis-\d", n)) == [
        f"redis-{i}" for i in range(1, 10)
    ]
    assert sorted(n for n in found if re.fullmatch(r"kafka-\d", n)) == [
        "kafka-1",
        "kafka-2",
        "kafka-3",
    ]


@pytest.mark.parametrize("name", sorted(services()))
def test_every_service_has_health_and_waits_on_conditions(name: str) -> None:
    service = services()[name]
    check = service.get("healthcheck", {})
    if name in ONE_SHOT:
        assert service.get("restart") == "no"
        assert check.get("disable") is True
    else:
        assert check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable")
    for needed, how in service.get("depends_on", {}).items():
        condition = how["condition"]
        if needed in ONE_SHOT:
            assert condition == "service_completed_successfully", (name, needed)
        else:
            assert condition == "service_healthy", (name, needed)


def test_nothing_depends_on_a_missing_service() -> None:
    found = services()
    for name, service in found.items():
        assert set(service.get("depends_on", {})) <= set(found), name


def test_redis_cluster_has_replicas_and_durability() -> None:
    conf = (DEPLOY / "redis" / "cluster.conf").read_text()
    for line in (
        "cluster-enabled yes",
        "appendonly yes",
        "maxmemory-policy noeviction",
        "min-replicas-to-write 1",
    ):
        assert re.search(rf"^{line}$", conf, re.MULTILINE), line
    init = (DEPLOY / "redis" / "cluster-init.sh").read_text()
    assert "--cluster-replicas 2" in init
    assert "--cluster-yes" in init
    nodes = compose_env(services()["redis-cluster-init"])["REDIS_NODES"].split()
    assert nodes == [f"redis-{i}" for i in range(1, 10)]


def test_kafka_runs_kraft_with_three_replicas_and_two_in_sync() -> None:
    for i in (1, 2, 3):
        env = compose_env(services()[f"kafka-{i}"])
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert env["KAFKA_NODE_ID"] == str(i)
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    create = services()["kafka-init"]["command"]
    assert "--replication-factor=3" in create
    assert "--config=min.insync.replicas=2" in create


def test_secrets_come_only_from_the_env_file() -> None:
    text = COMPOSE.read_text()
    for name, service in services().items():
        for var, value in compose_env(service).items():
            if var in SECRETS or "PASSWORD" in var or URL_PASSWORD.search(value):
                # Required (":?"), so an unfilled env file stops compose instead of
                # starting with an empty secret.
                assert "${" in value, (name, var)
    for match in INTERPOLATION.finditer(text):
        if match.group(1) in SECRETS:
            assert match.group(2) == ":?", match.group(0)


def test_the_example_env_file_names_every_variable_compose_reads() -> None:
    used = {m.group(1) for m in INTERPOLATION.finditer(COMPOSE.read_text())}
    lines = COMPOSE_ENV_EXAMPLE.read_text().splitlines()
    example = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    # The load-test switches are named there too, commented out.
    switches = {m.group(1) for line in lines if (m := re.match(r"#([A-Z][A-Z0-9_]*)=", line))}
    assert set(example) | switches == used
    # Secrets are left empty in the example: compose refuses to start until they are set.
    assert all(example[name] == "" for name in SECRETS)


def test_the_real_env_file_is_ignored_by_git() -> None:
    done = run(["git", "-C", str(ROOT), "check-ignore", "-q", "deploy/compose.env"])
    assert done.returncode == 0, "deploy/compose.env holds secrets and must be git-ignored"
