"""What compose and Kubernetes hand the processes: every COUPONRUSH_ variable is a real
setting, each role gets what it cannot run without, secrets come from secret stores, and
the gateway's placeholders are all filled with the same limits as the local stack's."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from couponrush.settings import Settings
from couponrush.stack import redis_acl
from couponrush.stack.nginx import retry_later
from tests.deploy.manifests import (
    BASE,
    DEPLOY,
    KUSTOMIZATIONS,
    PLACEHOLDER,
    PREFIX,
    TEMPLATE,
    compose_env,
    find,
    k8s_env,
    pod_spec,
    resources,
    run,
    services,
    values,
    workloads,
)

# What each role cannot run without (names without the prefix).
LOGINS = {"REDIS_USERNAME", "REDIS_PASSWORD"}
REQUIRED = {
    "app": {"ADMIN_TOKEN", "COUPON_SECRET", "REDIS_MODE", "REDIS_URL", "REDIS_WAIT_REPLICAS",
            "DATABASE_URL", "DATABASE_PASSWORD", *LOGINS},
    "consumer": {"COUPON_SECRET", "DATABASE_URL", "DATABASE_PASSWORD", "REDIS_MODE",
                 "REDIS_URL", "QUEUE", "KAFKA_BOOTSTRAP", *LOGINS},
    "relay": {"REDIS_MODE", "REDIS_URL", "QUEUE", "KAFKA_BOOTSTRAP", *LOGINS},
    "migrate": {"DATABASE_URL", "DATABASE_PASSWORD"},
    "operator": {"COUPON_SECRET", "DATABASE_URL", "DATABASE_PASSWORD", "REDIS_MODE",
                 "REDIS_URL", *LOGINS},
}  # fmt: skip
SECRET = {
    "ADMIN_TOKEN",
    "COUPON_SECRET",
    "DATABASE_PASSWORD",
    "REDIS_PASSWORD",
    "KAFKA_SASL_PASSWORD",
}
# Secrets each process has of its own: the others are one value for every role.
OWN = {"REDIS_PASSWORD"}
# The Redis user of each role (deploy/redis/users.acl).
REDIS_USERS = {"app": "app", "consumer": "pipeline", "relay": "pipeline", "operator": "ops"}
COMPOSE_ROLES = {"app": "app", "consumer": "consumer", "relay": "relay", "migrate": "migrate",
                 "cli": "operator"}  # fmt: skip
K8S_ROLES = {"app": "app", "consumer": "consumer", "relay": "relay", "migrate": "migrate",
             "reconcile": "operator"}  # fmt: skip


def role_envs() -> list[tuple[str, str, dict[str, str]]]:
    """(where, role, environment) for every couponrush process of every deployment."""
    found = [
        (f"compose:{name}", role, compose_env(services()[name]))
        for name, role in COMPOSE_ROLES.items()
    ]
    for kustomization in KUSTOMIZATIONS:
        docs = resources(kustomization)
        for workload in workloads(docs):
            name = workload["metadata"]["name"]
            if name in K8S_ROLES:
                (container,) = pod_spec(workload)["containers"]
                where = f"k8s {kustomization.name}:{workload['kind']}/{name}"
                found.append((where, K8S_ROLES[name], k8s_env(docs, container)))
    return found


ROLE_ENVS = role_envs()


def settings_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def test_every_couponrush_variable_is_a_setting() -> None:
    unknown: dict[str, dict[str, list[str]]] = {}
    for where, _, env in ROLE_ENVS:
        target, _, process = where.partition(":")
        for var in env:
            if var.startswith(PREFIX) and var.removeprefix(PREFIX) not in settings_names():
                unknown.setdefault(var, {}).setdefault(target, []).append(process)
    assert not unknown, "not fields of couponrush.settings.Settings:\n" + "\n".join(
        f"  {var}: "
        + "; ".join(f"{target} ({', '.join(procs)})" for target, procs in places.items())
        for var, places in sorted(unknown.items())
    )


@pytest.mark.parametrize(("where", "role", "env"), ROLE_ENVS, ids=[w for w, _, _ in ROLE_ENVS])
def test_each_role_gets_what_it_needs(where: str, role: str, env: dict[str, str]) -> None:
    missing = {name for name in REQUIRED[role] if PREFIX + name not in env}
    assert not missing, f"{where} lacks {sorted(PREFIX + n for n in missing)}"


def test_secrets_come_from_secret_stores_and_agree_between_roles() -> None:
    for kustomization in KUSTOMIZATIONS:
        sources: dict[str, set[str]] = {}
        for where, _, env in ROLE_ENVS:
            if not where.startswith(f"k8s {kustomization.name}:"):
                continue
            for name in SECRET & {v.removeprefix(PREFIX) for v in env}:
                source = env[PREFIX + name]
                assert source.startswith("secret:"), f"{where}: {name} is not from a Secret"
                if name not in OWN:
                    sources.setdefault(name, set()).add(source)
        # The consumer re-derives the codes the app signed: one secret for both.
        assert all(len(refs) == 1 for refs in sources.values()), sources
    secret = PREFIX + "COUPON_SECRET"
    compose_secrets = {
        env[secret] for where, _, env in ROLE_ENVS if where.startswith("compose:") and secret in env
    }
    assert len(compose_secrets) == 1, compose_secrets


@pytest.mark.parametrize(("where", "role", "env"), ROLE_ENVS, ids=[w for w, _, _ in ROLE_ENVS])
def test_each_role_logs_in_to_redis_as_its_own_user(
    where: str, role: str, env: dict[str, str]
) -> None:
    user = REDIS_USERS.get(role)
    if user is None:
        assert PREFIX + "REDIS_USERNAME" not in env, where
        return
    assert env[PREFIX + "REDIS_USERNAME"].removeprefix("value:") == user, where
    password = env[PREFIX + "REDIS_PASSWORD"]
    variable = redis_acl.USERS[user]
    compose = f"${{{variable}:?set {variable} in deploy/compose.env}}"
    assert password in (f"secret:couponrush-redis-users/{user}-password", compose), where
    assert f"user {user} on >${{{variable}}}" in (DEPLOY / "redis" / "users.acl").read_text()


def test_compose_env_example_names_every_redis_password() -> None:
    example = (DEPLOY / "compose.env.example").read_text()
    for variable in redis_acl.USERS.values():
        assert f"\n{variable}=\n" in example, variable


def test_roles_of_one_deployment_agree_on_the_stores() -> None:
    shared = ("REDIS_MODE", "REDIS_URL", "QUEUE", "KAFKA_BOOTSTRAP")
    targets: dict[str, set[tuple[str | None, ...]]] = {}
    for where, role, env in ROLE_ENVS:
        if role in ("relay", "consumer", "app"):
            picked = tuple(env.get(PREFIX + name) for name in shared)
            targets.setdefault(where.split(":")[0], set()).add(picked)
    for target, seen in targets.items():
        assert len(seen) == 1, (target, seen)


# ---- the gateway -------------------------------------------------------------------------


def default(field: str) -> object:
    return Settings.model_fields[field].default


def gateway_limits() -> dict[str, str]:
    """The limits as the local stack renders them from the settings' defaults."""
    timeout_ms, retry_after = default("redis_timeout_ms"), default("retry_after_s")
    spread = default("retry_after_spread_s")
    assert isinstance(timeout_ms, int)
    assert isinstance(retry_after, int)
    assert isinstance(spread, int)
    return {
        "MAX_BODY": f"{default('max_body_bytes')}",
        "CLIENT_TIMEOUT": f"{default('client_timeout_s')}s",
        "CLIENT_RATE": f"{default('client_rate_per_s')}r/s",
        "CLIENT_BURST": f"{default('client_burst')}",
        "CONN_PER_CLIENT": f"{default('conn_per_client')}",
        "UPSTREAM_TIMEOUT": f"{max(2, timeout_ms * 4 // 1000)}s",
        "OPERATOR_TIMEOUT": f"{default('operator_timeout_s')}s",
        "RETRY_AFTER": f"{default('retry_after_s')}",
        "RETRY_LATER": " ".join(retry_later(retry_after, spread).split()),
    }


def compose_default(value: str) -> str:
    """A compose value as it is with no env file: ${NAME:-default} is the default, and
    ${NAME} empty."""
    return re.sub(
        r"\$\{[A-Z_]+(?::-([^}]*))?\}", lambda m: m.group(1) or "", value.replace("$$", "$")
    )


def gateway_envs() -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """(where, gateway variables, app variables) for compose and each kustomization."""
    compose_gateway = {k: compose_default(v) for k, v in compose_env(services()["gateway"]).items()}
    found = [("compose", compose_gateway, compose_env(services()["app"]))]
    for kustomization in KUSTOMIZATIONS:
        docs = resources(kustomization)
        (nginx,) = pod_spec(find(docs, "Deployment", "gateway"))["containers"]
        (app,) = pod_spec(find(docs, "Deployment", "app"))["containers"]
        found.append(
            (f"k8s {kustomization.name}", values(k8s_env(docs, nginx)), values(k8s_env(docs, app)))
        )
    return found


GATEWAYS = gateway_envs()
gateways = pytest.mark.parametrize(
    ("where", "env", "app"), GATEWAYS, ids=[where for where, _, _ in GATEWAYS]
)
GATEWAY_IMAGE = DEPLOY / "gateway"


def image_env() -> dict[str, str]:
    """The ENV of the gateway image's Dockerfile."""
    text = re.sub(r"\\\n\s*", " ", (GATEWAY_IMAGE / "Dockerfile").read_text())
    (line,) = [x for x in text.splitlines() if x.startswith("ENV ")]
    return dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line.removeprefix("ENV ")))


def render_gateway(env: dict[str, str], work: Path) -> str:
    """What the gateway image's entrypoint renders from ``env`` (its own templates and Lua
    laid out as in the image)."""
    share = work / "share"
    (share / "lua").mkdir(parents=True)
    shutil.copy(TEMPLATE, share)
    shutil.copy(TEMPLATE.parent / "lua" / "gateway.conf.template", share / "lua")
    image = {k: v.strip('"') for k, v in image_env().items()}
    state = work / "state"
    # The feed's token comes from a Secret in Kubernetes, not from the ConfigMap.
    full = {
        "PATH": os.environ["PATH"],
        "EDGE_FEED_TOKEN": "t",
        **image,
        **env,
        "STATE_DIR": str(state),
        "GATEWAY_SHARE": str(share),
    }
    done = run(["sh", str(GATEWAY_IMAGE / "entrypoint.sh"), "--render-only"], env=full)
    assert done.returncode == 0, done.stderr
    return (state / "nginx.conf").read_text() + (state / "lua.conf").read_text()


@gateways
def test_gateway_fills_every_placeholder_and_keeps_nginx_variables(
    where: str, env: dict[str, str], app: dict[str, str], tmp_path: Path
) -> None:
    rendered = render_gateway(env, tmp_path)
    assert not PLACEHOLDER.search(rendered), where
    # nginx's own variables pass through untouched.
    template = TEMPLATE.read_text()
    nginx_vars = set(re.findall(r"\$([a-z_][a-z0-9_]*)", template))
    assert nginx_vars
    assert nginx_vars <= set(re.findall(r"\$([a-z_][a-z0-9_]*)", rendered)), where
    # The Lua module is loaded and its edge configured.
    assert "ngx_http_lua_module.so" in rendered
    assert "access_by_lua_block" in rendered


@gateways
def test_signed_identity_keeps_the_edge_from_answering(
    where: str, env: dict[str, str], app: dict[str, str], tmp_path: Path
) -> None:
    rendered = render_gateway(env, tmp_path)
    assert "edge = false" in rendered, where
    unsigned = render_gateway({**env, "AUTH": "none"}, tmp_path / "unsigned")
    assert "edge = true" in unsigned


def test_template_placeholders_are_all_braced_upper_case() -> None:
    # An unbraced $NAME would be substituted too if such a variable were defined.
    assert not re.search(r"\$[A-Z]", TEMPLATE.read_text())


@gateways
def test_gateway_limits_are_the_settings_defaults(
    where: str, env: dict[str, str], app: dict[str, str]
) -> None:
    rendered = {name: " ".join(env[name].split()) for name in gateway_limits()}
    assert rendered == gateway_limits(), where
    # Each upstream peer is one app container (compose) or the app Service (Kubernetes):
    # max_conns is its granian workers together.
    (max_conns,) = re.findall(r"max_conns=(\d+)", env["UPSTREAM_SERVERS"])
    workers = int(app["COUPONRUSH_WORKERS"])
    assert int(max_conns) == workers * int(str(default("worker_max_conns")))


def test_compose_gateway_runs_the_gateway_image_on_a_writable_state_folder() -> None:
    gateway = services()["gateway"]
    assert gateway["image"].startswith("couponrush-gateway:")
    assert gateway["build"]["dockerfile"] == "deploy/gateway/Dockerfile"
    state = image_env()["STATE_DIR"]
    assert any(mount.startswith(f"{state}:") for mount in gateway["tmpfs"])
    assert gateway["read_only"] is True


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS, ids=[p.name for p in KUSTOMIZATIONS])
def test_k8s_gateway_terminates_tls_from_a_secret(kustomization: Path) -> None:
    docs = resources(kustomization)
    spec = pod_spec(find(docs, "Deployment", "gateway"))
    (nginx,) = spec["containers"]
    assert nginx["image"].split("/")[-1].startswith("couponrush-gateway")
    env = values(k8s_env(docs, nginx))
    mounts = {m["mountPath"]: m["name"] for m in nginx["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes[mounts["/run/gateway"]]
    tls = volumes[mounts[str(Path(env["TLS_CERT"]).parent)]]
    assert tls["secret"]["secretName"] == "gateway-tls"
    assert env["LISTEN"] == "8443"


def test_tls_redirects_plain_http_and_sends_hsts(tmp_path: Path) -> None:
    (tmp_path / "tls.crt").write_text("")
    (tmp_path / "tls.key").write_text("")
    env = {k: v for k, v in GATEWAYS[1][1].items()}
    env.update(TLS_CERT=str(tmp_path / "tls.crt"), TLS_KEY=str(tmp_path / "tls.key"))
    rendered = render_gateway(env, tmp_path / "work")
    assert "listen 8443 ssl backlog=8192;" in rendered
    assert "Strict-Transport-Security" in rendered
    assert "return 308 https://$host$request_uri;" in rendered


# ---- the commands the deployments run ----------------------------------------------------


def commands() -> list[tuple[str, list[str]]]:
    """(where, argv) of every couponrush CLI invocation."""
    found: list[tuple[str, list[str]]] = []
    for name, service in services().items():
        if service.get("image", "").startswith("couponrush:") and "command" in service:
            found.append((f"compose:{name}", [*service.get("entrypoint", []), *service["command"]]))
    for workload in workloads(resources(BASE)):
        for container in pod_spec(workload)["containers"]:
            if container["image"].split(":")[0] == "couponrush":
                argv = [*container.get("command", []), *container["args"]]
                found.append((f"k8s:{workload['metadata']['name']}", argv))
    return found


COMMANDS = commands()


@pytest.mark.parametrize(("where", "argv"), COMMANDS, ids=[where for where, _ in COMMANDS])
def test_the_commands_exist(where: str, argv: list[str]) -> None:
    words = [a for a in argv if not a.startswith("-")]
    path = words[: next((i for i, w in enumerate(words) if not w.isalpha()), len(words))]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    done = run([sys.executable, "-m", "couponrush", *path, "--help"], env)
    assert done.returncode == 0, f"{where}: {done.stderr}"
    for option in (a.split("=")[0] for a in argv if a.startswith("--")):
        assert option in done.stdout, f"{where}: no option {option}"
