"""The container image: lint, and the properties the deployment files rely on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.deploy.manifests import DOCKERFILE, ROOT, run, tool


def instructions(name: str) -> list[str]:
    """Arguments of every ``name`` instruction, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    return [
        line.split(None, 1)[1] for line in text.splitlines() if line.split(None, 1)[:1] == [name]
    ]


DOCKERFILES = [DOCKERFILE, *sorted((ROOT / "deploy").rglob("Dockerfile"))]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint_finds_nothing(dockerfile: Path) -> None:
    config = str(ROOT / ".hadolint.yaml")
    done = run(
        [tool("hadolint"), "--config", config, "--failure-threshold", "style", str(dockerfile)]
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_image_builds_on_the_one_debian_base(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    assert "ARG BASE_IMAGE=debian:bookworm-slim" in text
    assert all(f.startswith("${BASE_IMAGE}") for f in re.findall(r"^FROM (\S+)", text, re.M))


def test_the_cli_is_the_entrypoint_and_the_user_is_not_root() -> None:
    assert [json.loads(arg) for arg in instructions("ENTRYPOINT")] == [["couponrush"]]
    (user,) = instructions("USER")
    uid = dict(re.findall(r"ARG (\w+)=(\S+)", DOCKERFILE.read_text())).get("UID", "")
    # Numeric, so Kubernetes' runAsNonRoot can check it (10001, as the manifests say).
    assert user == "${UID}:${UID}"
    assert uid == "10001"


def test_dependencies_are_installed_by_hash_from_a_lock_that_exists() -> None:
    args = dict(re.findall(r"ARG (\w+)=(\S+)", DOCKERFILE.read_text()))
    assert (ROOT / args["REQUIREMENTS"]).is_file()
    installs = [cmd for cmd in instructions("RUN") if "pip " in cmd and " install " in cmd]
    assert any("--require-hashes" in cmd and "-r requirements.txt" in cmd for cmd in installs)
    # The build's setuptools comes from its lock too.
    assert any("--require-hashes" in cmd and "-r build.txt" in cmd for cmd in installs)
    # Every other install takes the project's own wheel, nothing from an index.
    for cmd in installs:
        assert "--require-hashes" in cmd or cmd.rstrip().endswith("/wheels/*.whl"), cmd


def test_the_runtime_stage_has_no_pip_and_no_compiler() -> None:
    runtime = DOCKERFILE.read_text().split("AS runtime", 1)[1]
    assert "python3-venv" not in runtime
    assert "python3-pip" not in runtime
    assert "build-essential" not in runtime
    assert "gcc" not in runtime
    # The environment copied in was made without pip; the build stage's pip filled it.
    assert "venv --without-pip /opt/venv" in DOCKERFILE.read_text()


def test_multi_stage_with_one_pinned_base() -> None:
    froms = instructions("FROM")
    assert [f.split()[-1] for f in froms] == ["build", "runtime"]
    assert all(f.startswith("${BASE_IMAGE}") for f in froms)


def test_a_healthcheck_and_no_secret_in_the_image() -> None:
    (check,) = instructions("HEALTHCHECK")
    assert "/healthz" in check
    for kind in ("ENV", "ARG"):
        for arg in instructions(kind):
            assert not re.search(r"SECRET|TOKEN|PASSWORD", arg, re.IGNORECASE), arg
    assert "PROMETHEUS_MULTIPROC_DIR=/tmp/couponrush-metrics" in " ".join(instructions("ENV"))


def test_the_build_context_is_only_what_the_image_needs() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "exclude everything first, then let through what the build uses"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed >= {"pyproject.toml", "README.md", "requirements", "src"}
    assert not allowed & {".git", ".venv", "var", "tests", "bench", "docs"}


def test_package_data_behind_symlinks_reaches_the_build() -> None:
    # A symlink under src/ whose target is not in the build stage leaves its file out of
    # the wheel, silently.
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    copies = " ".join(instructions("COPY"))
    for link in (p for p in (ROOT / "src").rglob("*") if p.is_symlink()):
        target = link.resolve().relative_to(ROOT).as_posix()
        if target.startswith("src/"):
            continue
        assert f"!{target}" in ignore, f"{link} -> {target}: let it through .dockerignore"
        assert target in copies, f"{link} -> {target}: COPY it in the build stage"
