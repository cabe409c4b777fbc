"""The Apache Kafka broker's jars: fetched once with Maven from the pinned list in
``deploy/kafka/pom.xml`` into a cache outside the repository, and reused from there.

Maven checks every artifact against the checksum the repository publishes
(``--strict-checksums``); the cache then keeps a SHA-256 manifest of the jars it copied,
so a later start notices a jar that changed or went missing, or a changed pom, and
fetches again. Offline,
a complete cache (or Maven's own local repository) is enough.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

from couponrush.core.errors import StackError

MANIFEST = "jars.sha256"
_VERSION = re.compile(r"<kafka\.version>([^<]+)</kafka\.version>")


def pom() -> Path:
    """The pinned list, shipped with the package (a link to deploy/kafka/pom.xml)."""
    return Path(str(resources.files("couponrush.stack") / "kafka.pom.xml"))


def version() -> str:
    found = _VERSION.search(pom().read_text())
    if found is None:
        raise StackError(f"{pom()} names no kafka.version")
    return found.group(1)


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "couponrush"


def libs(cache: Path | None = None) -> Path:
    """The folder of the pinned version's jars (fetched or not)."""
    return (cache or default_cache()) / f"kafka-{version()}" / "libs"


def fetch(cache: Path | None = None, quiet: bool = False) -> Path:
    """The folder holding every jar of the broker, fetching it first when the cache lacks
    it or no longer matches its manifest."""
    folder = libs(cache)
    if _intact(folder):
        return folder
    if not quiet:
        print(f"fetching Apache Kafka {version()} with Maven into {folder}", file=sys.stderr)
    staging = folder.with_name("libs.partial")
    shutil.rmtree(staging, ignore_errors=True)
    _copy_dependencies(staging)
    (staging / MANIFEST).write_text(_manifest(staging))
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder


def classpath(folder: Path) -> str:
    return os.pathsep.join(str(jar) for jar in sorted(folder.glob("*.jar")))


def _copy_dependencies(into: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("the Kafka broker is fetched with Maven: install it (Debian: maven)")
    goal = ["dependency:copy-dependencies", f"-DoutputDirectory={into}", "-DincludeScope=runtime"]
    argv = [mvn, "--batch-mode", "--quiet", "--strict-checksums", "--file", str(pom()), *goal]
    # Online first; offline, Maven's own local repository may already hold every jar.
    for extra in ([], ["--offline"]):
        done = subprocess.run([*argv, *extra], capture_output=True, text=True, check=False)
        if done.returncode == 0 and any(into.glob("kafka_*.jar")):
            return
    raise StackError(f"fetching Apache Kafka {version()} failed:\n{done.stdout[-2000:]}")


def _manifest(folder: Path) -> str:
    """Every jar's digest, and the pom's: a changed list (a new version, a new tool) is
    fetched again even though each jar of the old one is intact."""
    lines = [f"{_sha256(pom())}  pom.xml"]
    lines += [f"{_sha256(jar)}  {jar.name}" for jar in sorted(folder.glob("*.jar"))]
    return "\n".join(lines) + "\n"


def _intact(folder: Path) -> bool:
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return False
    try:
        return manifest.read_text() == _manifest(folder)
    except OSError:
        return False


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
