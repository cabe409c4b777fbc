"""The container engine and the images: podman (with the runc runtime and this host's
limits, deploy/podman/containers.conf) or docker where its daemon answers; the Debian
base pulled where a registry serves it and made locally with mmdebstrap where none does,
under the same name, so one set of Dockerfiles builds both ways."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from couponrush.core.errors import StackError

BASE = "docker.io/library/debian:bookworm-slim"
# The limits every container and build step gets: the engine's defaults exceed this
# host's hard limits (podman takes them from containers.conf; builds need them spelt out).
ULIMITS = ("nofile=1024:20000", "nproc=1024:1024")
# Where no registry answers, a build reaches the Python index (HTTPS) only with the host's
# CA bundle mounted; the base made here carries ca-certificates already, so the build's
# own packages need not write into that read-only folder. Debian's mirror is reached over
# plain HTTP (apt checks signatures), so the other builds mount nothing: a package that
# writes there (ssl-cert, ca-certificates-java) would fail.
CA_BUNDLE = Path("/etc/ssl/certs")
MADE_HERE = "org.couponrush.base=mmdebstrap"


@dataclass(frozen=True)
class Engine:
    name: str  # podman or docker
    conf: Path | None = None  # podman's containers.conf of the project

    def env(self) -> dict[str, str]:
        extra = {"CONTAINERS_CONF": str(self.conf)} if self.conf else {}
        return {**os.environ, **extra}

    def run(
        self, *args: str, check: bool = True, input_text: str | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [self.name, *args],
            env=self.env(),
            text=True,
            check=False,
            capture_output=True,
            timeout=timeout,
            input=input_text,
        )
        if check and done.returncode != 0:
            raise StackError(f"{self.name} {' '.join(args[:3])}… failed: {done.stderr.strip()}")
        return done

    def exists(self, image: str) -> bool:
        return (
            self.run(
                "image", "exists" if self.name == "podman" else "inspect", image, check=False
            ).returncode
            == 0
        )

    def compose(self) -> list[str]:
        return ["podman-compose"] if self.name == "podman" else ["docker", "compose"]


def detect(root: Path) -> Engine:
    """podman where installed (this project's Debian hosts), else a docker whose daemon
    answers; StackError naming what to install otherwise."""
    if shutil.which("podman"):
        return Engine("podman", root / "deploy" / "podman" / "containers.conf")
    if (
        shutil.which("docker")
        and subprocess.run(
            ["docker", "info"], capture_output=True, check=False, timeout=30
        ).returncode
        == 0
    ):
        return Engine("docker")
    raise StackError("no container engine: install podman (make install does) or run docker")


def ensure_base(engine: Engine, say: Callable[[str], None]) -> str:
    """The Debian base: already here, pulled, or made from Debian's packages."""
    if engine.exists(BASE):
        return "present"
    if engine.run("pull", "-q", BASE, check=False, timeout=300).returncode == 0:
        return "pulled"
    if engine.name != "podman" or not shutil.which("mmdebstrap"):
        raise StackError(f"no registry serves {BASE} and mmdebstrap is missing to make it")
    say(f"no registry serves {BASE}: making it from Debian's packages (mmdebstrap)")
    with _tempdir() as folder:
        tarball = folder / "base.tar"
        subprocess.run(_mmdebstrap(tarball), check=True, timeout=900)
        engine.run(
            "import",
            "--change",
            "CMD=/bin/bash",
            "--change",
            f"LABEL {MADE_HERE}",
            str(tarball),
            BASE,
            timeout=300,
        )
    return "made"


def _mmdebstrap(tarball: Path) -> list[str]:
    """minbase bookworm, slimmed as Debian's own container images are: no docs or
    manuals, no package lists, and services never started by a package's install."""
    hooks = [
        "printf '#!/bin/sh\\nexit 101\\n' > \"$1/usr/sbin/policy-rc.d\"",
        'chmod 0755 "$1/usr/sbin/policy-rc.d"',
        'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin',
    ]
    excludes = [
        "/usr/share/doc/*",
        "/usr/share/man/*",
        "/usr/share/info/*",
        "/usr/share/locale/*",
        "/usr/share/lintian/*",
    ]
    return [
        "mmdebstrap",
        "--variant=minbase",
        "--quiet",
        "--include=ca-certificates",
        *[f"--dpkgopt=path-exclude={path}" for path in excludes],
        "--dpkgopt=path-include=/usr/share/doc/*/copyright",
        *[f"--customize-hook={hook}" for hook in hooks],
        "bookworm",
        str(tarball),
    ]


@contextmanager
def _tempdir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="couponrush-image-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Image:
    tag: str
    dockerfile: str  # relative to the repository
    context: str = "."  # relative to the repository; "kafka" is the fetched jars' folder
    https: bool = False  # its build fetches over HTTPS (pip)


def build(engine: Engine, root: Path, image: Image, context: Path) -> None:
    """One image; the engine's layer cache makes an unchanged rebuild quick. Its output is
    shown only when it fails."""
    args = [
        "build",
        "-t",
        image.tag,
        "-f",
        str(root / image.dockerfile),
        *[f"--ulimit={limit}" for limit in ULIMITS],
    ]
    if engine.name == "podman":
        args.append("--pull=never")
    if image.https and made_here(engine):
        args += ["-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro"]
    done = engine.run(*args, str(context), check=False, timeout=1800)
    if done.returncode != 0:
        say_stderr((done.stdout + done.stderr)[-4000:])
        raise StackError(f"building {image.tag} failed (its output is above)")


def made_here(engine: Engine) -> bool:
    done = engine.run("image", "inspect", "--format", "{{json .Labels}}", BASE, check=False)
    key, _, value = MADE_HERE.partition("=")
    return f'"{key}":"{value}"' in done.stdout


def size_mb(engine: Engine, tag: str) -> float:
    done = engine.run("image", "inspect", "--format", "{{.Size}}", tag)
    return int(done.stdout.strip()) / 1e6


def say_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def tags(images: Sequence[Image]) -> list[str]:
    return [image.tag for image in images]
