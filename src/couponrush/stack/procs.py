"""Processes: free ports, binaries, and starting and stopping a child the same way in the
stack, the tests and the benchmarks."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from couponrush.core.errors import StackError


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def ephemeral_low() -> int:
    """The first port of the kernel's ephemeral range (outgoing connections take those)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def steady_ports(count: int) -> list[int]:
    """``count`` distinct free ports below the ephemeral range, for a server that may be
    started again on its port later (a restarted broker): a port from that range can be
    taken by any outgoing connection meanwhile."""
    chosen: set[int] = set()
    for _ in range(count * 200):
        port = random.randint(1_024, ephemeral_low() - 1)
        if port not in chosen and port_is_free(port):
            chosen.add(port)
            if len(chosen) == count:
                return sorted(chosen)
    raise StackError(f"no {count} free ports below the ephemeral range")


def children(pid: int) -> set[int]:
    """The child processes of ``pid`` (Linux), empty when it is gone."""
    try:
        return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def clear_stale_socket(path: Path) -> None:
    """Remove a Unix socket file no one listens on: a server killed by SIGKILL leaves its
    socket behind, and the next one could not bind it. One that answers is left alone."""
    if not path.exists():
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            path.unlink(missing_ok=True)
            return
    raise StackError(f"{path} is in use by a running server")


def binary(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StackError(f"{name} is not installed; {hint}")
    return path


def spawn(
    argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None, new_session: bool = False
) -> subprocess.Popen[bytes]:
    """Start ``argv`` appending its output to ``log`` (the child keeps its own copy of the
    file). ``new_session``: a process group of its own, so ``stop`` can take its children
    (granian's workers) with it."""
    with log.open("ab") as out:
        environ = None if env is None else dict(env)
        return subprocess.Popen(
            list(argv),
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout_s: float = 15) -> None:
    """Ask ``proc`` to stop with ``sig``, kill it past ``timeout_s``, and reap it; a process
    group of its own is killed whole afterwards (whatever it left behind)."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    # Only a group leader's pid names a group; for any other child this finds nothing.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
