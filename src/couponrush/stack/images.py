"""``make images``: the project's two images and, for compose where no registry serves
them, the stores' images from Debian's packages; each built with the engine's layer
cache and its size printed."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from couponrush.stack import kafka_dist
from couponrush.stack.containers import Engine, Image, _tempdir, build, ensure_base, size_mb

PROJECT = (
    Image("couponrush:local", "Dockerfile", https=True),
    Image("couponrush-gateway:local", "deploy/gateway/Dockerfile"),
)


def _store(name: str, context: str = "") -> Image:
    folder = f"deploy/stores/{name}"
    return Image(f"couponrush-{name}:local", f"{folder}/Dockerfile", context or folder)


# deploy/compose.debian.yaml names these in place of the registry's images; Kafka's
# context is the fetched jars' folder.
STORES = (
    *(_store(name) for name in ("redis", "postgres", "prometheus", "redis-exporter")),
    _store("postgres-exporter"),
    _store("kafka", "kafka"),
)


def build_all(
    engine: Engine, root: Path, images: tuple[Image, ...], say: Callable[[str], None]
) -> dict[str, float]:
    """Build ``images`` (the base first) and return each one's size in MB."""
    say(f"base image {ensure_base(engine, say)}")
    sizes = {}
    for image in images:
        started = time.monotonic()
        with _context(root, image) as context:
            build(engine, root, image, context)
        sizes[image.tag] = size_mb(engine, image.tag)
        say(f"{image.tag:<36} {sizes[image.tag]:7.1f} MB  ({time.monotonic() - started:.0f} s)")
    return sizes


@contextmanager
def _context(root: Path, image: Image) -> Iterator[Path]:
    """The build context: a folder of the repository, or for Kafka the fetched jars with
    the image's own files beside them (hard links where the file system allows)."""
    if image.context != "kafka":
        yield root / image.context
        return
    jars = kafka_dist.fetch()
    with _tempdir() as folder:
        shutil.copytree(
            root / "deploy" / "stores" / "kafka", folder, dirs_exist_ok=True, symlinks=True
        )
        shutil.copytree(jars, folder / "libs", copy_function=_link)
        yield folder


def _link(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
