"""A local PostgreSQL for the tests and the one-machine stack.

PostgreSQL refuses to run as root, so when this process is root every server command
runs as the unprivileged ``postgres`` user (created by Debian's package) through
``setpriv``, which execs in place: the pid a supervisor or a test holds is the
postmaster's own, so signals reach it directly.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import subprocess
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from couponrush.core.errors import StackError

SERVER_USER = "postgres"
DB_USER = "couponrush"
T = TypeVar("T")


def server_bin(name: str) -> str:
    """``name`` from PATH, else from the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    dirs = [Path(d) for d in glob.glob("/usr/lib/postgresql/*/bin")]
    dirs.sort(key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)
    for folder in reversed(dirs):
        if (folder / name).exists():
            return str(folder / name)
    raise StackError(f"{name} is not installed; run 'make install' (Debian package postgresql)")


def run_as_prefix() -> list[str]:
    """The argv prefix that drops root for the server; empty when not root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError as exc:
        raise StackError(f"running as root needs a '{SERVER_USER}' system user") from exc
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise StackError("setpriv (util-linux) is needed to run PostgreSQL as root")
    return [setpriv, f"--reuid={SERVER_USER}", f"--regid={SERVER_USER}", "--clear-groups", "--"]


def give_to_server_user(*paths: Path) -> None:
    """Create folders the server writes to, owned by the server user when we are root.

    Their parents must be searchable by that user: a root-only 0700 folder (such as
    pytest's tmp root) is not, so callers put them under a world-searchable one.
    """
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)
            path.chmod(0o700)


def open_to_server_user(folder: Path) -> None:
    """Let the server user reach ``folder`` (a folder of ours) when we are root.

    Adds only the search bit to ``folder``; its parents are not ours to change, so one the
    server user cannot pass through is a clear error instead of initdb's "Permission denied".
    """
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return
    folder.chmod(folder.stat().st_mode | 0o011)
    for parent in folder.resolve().parents:
        if not parent.stat().st_mode & 0o001:
            raise StackError(
                f"PostgreSQL runs as '{SERVER_USER}' and cannot reach {folder}: {parent} is "
                "closed to other users; set COUPONRUSH_VAR_DIR to a folder outside it"
            )


def initdb(data_dir: Path, fast: bool = False) -> None:
    """Create a cluster whose one role is ``couponrush``, trusted on loopback only.

    Does nothing if ``data_dir`` already holds a cluster. ``fast`` skips fsync (tests).
    """
    if (data_dir / "PG_VERSION").exists():
        return
    give_to_server_user(data_dir)
    argv = [
        *run_as_prefix(),
        server_bin("initdb"),
        "-D",
        str(data_dir),
        "-U",
        DB_USER,
        "--auth-local=trust",
        "--auth-host=reject",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    ]
    if fast:
        argv.append("--no-sync")
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StackError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
    hba = data_dir / "pg_hba.conf"
    lines = [ln for ln in hba.read_text().splitlines() if ln.strip().startswith("local")]
    hba.write_text("\n".join([*lines, "host all all 127.0.0.1/32 trust"]) + "\n")


def postgres_argv(port: int, data_dir: Path, socket_dir: Path, fast: bool = False) -> list[str]:
    """The postmaster in the foreground, on loopback only (supervisord or Popen runs it)."""
    give_to_server_user(socket_dir)
    argv = [
        *run_as_prefix(),
        server_bin("postgres"),
        "-D",
        str(data_dir),
        "-p",
        str(port),
        "-k",
        str(socket_dir),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "max_connections=200",
    ]
    if fast:
        argv += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    return argv


def database_url(port: int, name: str = "couponrush") -> str:
    return f"postgresql://{DB_USER}@127.0.0.1:{port}/{name}"


def _admin_url(url: str) -> str:
    return f"{url.rpartition('/')[0]}/postgres"


async def _ensure_database(url: str) -> None:
    name = url.rpartition("/")[2].split("?", 1)[0]
    conn = await asyncpg.connect(_admin_url(url), timeout=5)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def _in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on its own loop, leaving this thread's loop alone."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def ensure_database(url: str) -> None:
    """Create the database named in ``url`` if it does not exist yet."""
    _in_thread(_ensure_database(url))


async def _probe(url: str) -> bool:
    conn = await asyncpg.connect(_admin_url(url), timeout=1)
    try:
        return bool(await conn.fetchval("SELECT 1") == 1)
    finally:
        await conn.close()


def pg_ready(url: str) -> Callable[[], bool]:
    """A readiness check for ready.wait_until: the server answers a query."""

    def check() -> bool:
        try:
            return _in_thread(_probe(url))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            return False

    return check
