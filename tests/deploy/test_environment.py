"""What compose and Kubernetes hand the processes: every COUPONRUSH_ variable is a real
setting, each role gets what it cannot run without, secrets come from secret stores, and
the gateway's placeholders are all filled with the same limits as the local stack's."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from couponrush.settings import Settings
from couponrush.stack.nginx import retry_later
from tests.deploy.manifests import (
    BASE,
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
    template_placeholders,
    values,
    workloads,
)

# What each role cannot run without (names without the prefix).
REQUIRED = {
    "app": {"ADMIN_TOKEN", "COUPON_SECRET", "REDIS_MODE", "REDIS_URL", "REDIS_WAIT_REPLICAS",
            "DATABASE_URL"},
    "consumer": {"COUPON_SECRET", "DATABASE_URL", "REDIS_MODE", "REDIS_URL", "QUEUE",
                 "KAFKA_BOOTSTRAP"},
    "relay": {"REDIS_MODE", "REDIS_URL", "QUEUE", "KAFKA_BOOTSTRAP"},
    "migrate": {"DATABASE_URL"},
    "operator": {"COUPON_SECRET", "DATABASE_URL", "REDIS_MODE", "REDIS_URL"},
}  # fmt: skip
SECRET = {"ADMIN_TOKEN", "COUPON_SECRET", "DATABASE_URL"}
COMPOSE_ROLES = {"app": "app", "consumer": "consumer", "relay": "relay", "migrate": "migrate",
                 "cli": "operator"}  # fmt: skip
K8S_ROLES = {"app": "app", "consumer": "consumer", "relay": "relay", "migrate": "migrate",
             "reconcile": "operator"}  # fmt: skip


def role_envs() -> list[tuple[str, str, dict[str, str]]]:
    """(where, role, environment) for every couponrush process of every deployment."""
    found = [(f"compose:{name}", role, compose_env(services()[name]))
             for name, role in COMPOSE_ROLES.items()]  # fmt: skip
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
                sources.setdefault(name, set()).add(source)
        # The consumer re-derives the codes the app signed: one secret for both.
        assert all(len(refs) == 1 for refs in sources.values()), sources
    secret = PREFIX + "COUPON_SECRET"
    compose_secrets = {env[secret] for where, _, env in ROLE_ENVS
                       if where.startswith("compose:") and secret in env}  # fmt: skip
    assert len(compose_secrets) == 1, compose_secrets


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


def gateway_envs() -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """(where, gateway variables, app variables) for compose and each kustomization."""
    compose_gateway = {k: v.replace("$$", "$") for k, v in
                       compose_env(services()["gateway"]).items()}  # fmt: skip
    found = [("compose", compose_gateway, compose_env(services()["app"]))]
    for kustomization in KUSTOMIZATIONS:
        docs = resources(kustomization)
        (nginx,) = pod_spec(find(docs, "Deployment", "gateway"))["containers"]
        (app,) = pod_spec(find(docs, "Deployment", "app"))["containers"]
        found.append((f"k8s {kustomization.name}", values(k8s_env(docs, nginx)),
                      values(k8s_env(docs, app))))  # fmt: skip
    return found


GATEWAYS = gateway_envs()
gateways = pytest.mark.parametrize(
    ("where", "env", "app"), GATEWAYS, ids=[where for where, _, _ in GATEWAYS]
)


def envsubst(template: str, env: dict[str, str]) -> str:
    """What the nginx image's entrypoint does: substitute the defined variables whose
    names match NGINX_ENVSUBST_FILTER, in both ${NAME} and $NAME form."""
    pattern = re.compile(env.get("NGINX_ENVSUBST_FILTER", ""))
    defined = {name: value for name, value in env.items() if pattern.search(name)}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return defined.get(name, match.group(0))

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", substitute, template)


@gateways
def test_gateway_fills_every_placeholder_and_keeps_nginx_variables(
    where: str, env: dict[str, str], app: dict[str, str]
) -> None:
    assert template_placeholders() <= set(env), where
    template = TEMPLATE.read_text()
    rendered = envsubst(template, env)
    assert not PLACEHOLDER.search(rendered), where
    # nginx's own variables pass through untouched.
    nginx_vars = set(re.findall(r"\$([a-z_][a-z0-9_]*)", template))
    assert nginx_vars
    assert nginx_vars == set(re.findall(r"\$([a-z_][a-z0-9_]*)", rendered)), where


def test_template_placeholders_are_all_braced_upper_case() -> None:
    # An unbraced $NAME would be substituted too if such a variable were defined.
    assert not re.search(r"\$[A-Z]", TEMPLATE.read_text())


@gateways
def test_gateway_limits_are_the_settings_defaults(
    where: str, env: dict[str, str], app: dict[str, str]
) -> None:
    rendered = {name: " ".join(env[name].split()) for name in gateway_limits()}
    assert rendered == gateway_limits(), where
    # Each upstream peer is one app container or pod: its granian workers together.
    (max_conns,) = re.findall(r"max_conns=(\d+)", env["UPSTREAM_SERVERS"])
    workers = int(app["COUPONRUSH_WORKERS"])
    assert int(max_conns) == workers * int(str(default("worker_max_conns")))


def test_compose_gateway_renders_the_template_into_its_config() -> None:
    gateway = services()["gateway"]
    out = compose_env(gateway)["NGINX_ENVSUBST_OUTPUT_DIR"]
    assert gateway["command"][gateway["command"].index("-c") + 1] == f"{out}/nginx.conf"
    assert any(mount.startswith(f"{out}:") for mount in gateway["tmpfs"])
    source, target = next(m for m in gateway["volumes"] if "templates" in m).split(":")[:2]
    assert (TEMPLATE.parent.parent / source).resolve() == TEMPLATE
    assert target == "/etc/nginx/templates/nginx.conf.template"


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS, ids=[p.name for p in KUSTOMIZATIONS])
def test_k8s_gateway_renders_the_template_into_its_config(kustomization: Path) -> None:
    docs = resources(kustomization)
    spec = pod_spec(find(docs, "Deployment", "gateway"))
    (nginx,) = spec["containers"]
    out = values(k8s_env(docs, nginx))["NGINX_ENVSUBST_OUTPUT_DIR"]
    assert nginx["args"][nginx["args"].index("-c") + 1] == f"{out}/nginx.conf"
    mounts = {m["mountPath"]: m["name"] for m in nginx["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes[mounts[out]]
    template = volumes[mounts["/etc/nginx/templates"]]["configMap"]["name"]
    assert find(docs, "ConfigMap", template)["data"] == {
        "nginx.conf.template": TEMPLATE.read_text()
    }


# ---- the commands the deployments run ----------------------------------------------------


def commands() -> list[tuple[str, list[str]]]:
    """(where, argv) of every couponrush CLI invocation."""
    found: list[tuple[str, list[str]]] = []
    for name, service in services().items():
        if service.get("image", "").startswith("couponrush:") and "command" in service:
            found.append((f"compose:{name}", [*service.get("entrypoint", []),
                                              *service["command"]]))  # fmt: skip
    for workload in workloads(resources(BASE)):
        for container in pod_spec(workload)["containers"]:
            if container["image"].startswith("couponrush"):
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
