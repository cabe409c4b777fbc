"""Network namespaces for the local stack: each member (a Redis node, a sentinel, later a
Kafka broker) in a namespace of its own, joined to the host by a bridge the stack makes,
so that links between members can be cut, made lossy and slow, and healed.

The host keeps the bridge's first address and reaches every member directly (clients,
app workers and the pipeline stay on the host). Every member has an nftables table
``inet couponrush`` with a set of peers it cannot reach (both directions) and a chain that
drops a share of its packets at random; ``tc`` makes its link slow (netem where the
kernel has it, else a token bucket with a queue as deep as the delay).

What is made is written to ``netns.json`` in the stack's folder *before* it is made, so
``remove`` takes away everything a crashed run left behind.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import random
import secrets
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from couponrush.core.errors import StackError
from couponrush.stack.procs import binary

HOST = "host"  # the host's end of the bridge, as a member name in cut()
RECORD = "netns.json"
_FIRST_MEMBER = 10  # members get .10, .11, ... of the subnet; the host .1
_TABLE = """table inet couponrush {
  set cut { type ipv4_addr; }
  chain input { type filter hook input priority 0; policy accept; ip saddr @cut drop; }
  chain output { type filter hook output priority 0; policy accept; ip daddr @cut drop; }
  chain lossy_in { type filter hook input priority 1; policy accept; }
  chain lossy_out { type filter hook output priority 1; policy accept; }
}
"""


@dataclass(frozen=True)
class Member:
    ns: str  # the namespace
    veth: str  # the host's end of its link, on the bridge
    ip: str


@dataclass
class Net:
    prefix: str  # of every name this stack made: parallel stacks do not collide
    subnet: str  # "10.a.b": a /24
    members: dict[str, Member] = field(default_factory=dict)

    @property
    def bridge(self) -> str:
        return f"{self.prefix}br"

    @property
    def host_ip(self) -> str:
        return f"{self.subnet}.1"

    def ip(self, name: str) -> str:
        return self.host_ip if name == HOST else self.members[name].ip

    def exec_argv(self, name: str, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside member ``name``'s namespace (``ip netns exec`` execs it, so
        the pid a supervisor sees is the program's own)."""
        return [ip_binary(), "netns", "exec", self.members[name].ns, *argv]


def member_ip(subnet: str, index: int) -> str:
    return f"{subnet}.{_FIRST_MEMBER + index}"


def addresses(subnet: str, ports: Sequence[int]) -> dict[int, str]:
    """Each member's address by its port, the members in the order they were made."""
    return {port: member_ip(subnet, k) for k, port in enumerate(ports)}


def choose(previous_prefix: str = "", previous_subnet: str = "") -> tuple[str, str]:
    """A name prefix and a /24 no route of this host uses; the previous ones when they are
    still free (a member's address is part of its Redis state: roles, nodes.conf)."""
    taken = _routes()
    if previous_prefix and previous_subnet and not _overlaps(previous_subnet, taken):
        return previous_prefix, previous_subnet
    for _ in range(200):
        subnet = f"10.{random.randint(200, 254)}.{random.randint(0, 255)}"
        if not _overlaps(subnet, taken):
            return f"cr{secrets.token_hex(3)}", subnet
    raise StackError("no free /24 for the stack's network namespaces")


def create(var: Path, prefix: str, subnet: str, names: Sequence[str]) -> Net:
    """The bridge and one namespace per member, each with its link up and its filters in
    place. Leftovers of an earlier run of this folder are removed first."""
    if os.geteuid() != 0:
        raise StackError("--netns needs root (network namespaces, bridges, nftables)")
    binary("nft", "run 'make install' (Debian package nftables)")
    remove(var)
    net = Net(prefix, subnet)
    _record(var, net)
    _run("link", "add", net.bridge, "type", "bridge")
    _run("addr", "add", f"{net.host_ip}/24", "dev", net.bridge)
    _run("link", "set", net.bridge, "up")
    for index, name in enumerate(names):
        member = Member(f"{prefix}-{name}", f"{prefix}v{index}", member_ip(subnet, index))
        net.members[name] = member
        _record(var, net)
        _plug(net, member)
    return net


def _plug(net: Net, member: Member) -> None:
    inner = f"{member.veth}x"
    _run("netns", "add", member.ns)
    _run("link", "add", member.veth, "type", "veth", "peer", "name", inner)
    _run("link", "set", inner, "netns", member.ns)
    _run("link", "set", member.veth, "master", net.bridge, "up")
    _run("-n", member.ns, "link", "set", inner, "name", "eth0")
    _run("-n", member.ns, "addr", "add", f"{member.ip}/24", "dev", "eth0")
    _run("-n", member.ns, "link", "set", "eth0", "up")
    _run("-n", member.ns, "link", "set", "lo", "up")
    nft(member, _TABLE)


def load(var: Path) -> Net | None:
    path = var / RECORD
    if not path.exists():
        return None
    raw = json.loads(path.read_text())
    members = {k: Member(**v) for k, v in raw.get("members", {}).items()}
    return Net(raw["prefix"], raw["subnet"], members)


def remove(var: Path) -> bool:
    """Take away whatever the record in ``var`` lists (processes left in a namespace are
    killed first); False when there was no record."""
    net = load(var)
    if net is None:
        return False
    for member in net.members.values():
        for pid in pids(member.ns):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _run("netns", "delete", member.ns, check=False)
        _run("link", "delete", member.veth, check=False)  # gone with its peer, normally
    _run("link", "delete", net.bridge, check=False)
    (var / RECORD).unlink(missing_ok=True)
    return True


def pids(ns: str) -> list[int]:
    done = subprocess.run(
        [ip_binary(), "netns", "pids", ns], capture_output=True, text=True, check=False
    )
    return [int(p) for p in done.stdout.split() if p.isdigit()]


# ---- plumbing ---------------------------------------------------------------------------


def _record(var: Path, net: Net) -> None:
    var.mkdir(parents=True, exist_ok=True)
    body = {
        "prefix": net.prefix,
        "subnet": net.subnet,
        "members": {k: asdict(m) for k, m in net.members.items()},
    }
    (var / RECORD).write_text(json.dumps(body, indent=2))


def _routes() -> list[ipaddress.IPv4Network]:
    done = subprocess.run(
        [ip_binary(), "-4", "route", "show", "table", "all"],
        capture_output=True,
        text=True,
        check=False,
    )
    found = []
    for line in done.stdout.splitlines():
        word = line.split()[0] if line.split() else ""
        if word in ("local", "broadcast"):
            word = line.split()[1]
        with contextlib.suppress(ValueError):
            found.append(ipaddress.ip_network(word, strict=False))
    return [n for n in found if isinstance(n, ipaddress.IPv4Network) and n.prefixlen > 0]


def _overlaps(subnet: str, taken: list[ipaddress.IPv4Network]) -> bool:
    mine = ipaddress.ip_network(f"{subnet}.0/24")
    return any(mine.overlaps(other) for other in taken)


def ip_binary() -> str:
    return binary("ip", "install the Debian package iproute2")


def _run(*args: str, check: bool = True) -> None:
    done = subprocess.run([ip_binary(), *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise StackError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def nft(member: Member, script: str, check: bool = True) -> None:
    argv = [ip_binary(), "netns", "exec", member.ns, "nft", "-f", "-"]
    done = subprocess.run(argv, input=script, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise StackError(f"nft in {member.ns}: {done.stderr.strip()}")
