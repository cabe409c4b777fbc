"""Links between the members of the stack's network namespaces: cut (a partition, both
ways), degraded (slow and lossy) and healed, with nftables and tc inside the namespaces
(see stack.netns). The host's own rules are never touched."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from couponrush.core.errors import StackError
from couponrush.stack.netns import HOST, Net, nft
from couponrush.stack.procs import binary


def cut(net: Net, name: str, peers: Sequence[str]) -> None:
    """No packet between member ``name`` and each of ``peers`` (members or HOST), either
    way: a partition, dropped silently as a network would."""
    for peer in peers:
        for a, b in ((name, peer), (peer, name)):
            if a != HOST:
                nft(net.members[a], f"add element inet couponrush cut {{ {net.ip(b)} }}\n")


def degrade(net: Net, name: str, delay_ms: int, loss_pct: int) -> str:
    """Member ``name``'s link slow by ``delay_ms`` (half each way) and losing ``loss_pct``
    percent of the packets each way; what made the delay, for the report."""
    member = net.members[name]
    rules = "".join(
        f"add rule inet couponrush {chain} numgen random mod 100 < {loss_pct} drop\n"
        for chain in ("lossy_in", "lossy_out")
    )
    if loss_pct:
        nft(member, rules)
    if not delay_ms:
        return "loss only"
    kinds = {
        _shape(["-n", member.ns], "eth0", delay_ms // 2),
        _shape([], member.veth, delay_ms // 2),
    }
    return f"{' and '.join(sorted(kinds))}, {loss_pct} % loss each way (nftables)"


def _shape(where: list[str], dev: str, delay_ms: int) -> str:
    """``dev``'s sending side slow by ``delay_ms``; what made it so."""
    qdisc = [*where, "qdisc", "replace", "dev", dev, "root"]
    netem = [tc_binary(), *qdisc, "netem", "delay", f"{delay_ms}ms"]
    if subprocess.run(netem, capture_output=True, check=False).returncode == 0:
        return f"netem delay {delay_ms} ms each way"
    # No netem in this kernel: a slow link instead, whose queue holds up to the delay.
    _tc_run([*qdisc, "tbf", "rate", "256kbit", "burst", "4kb", "latency", f"{delay_ms}ms"])
    return f"no netem in this kernel: 256 kbit/s with a {delay_ms}-ms queue each way (tbf)"


def heal(net: Net, name: str) -> None:
    """Member ``name`` reaches everyone again at full speed (and everyone reaches it)."""
    member = net.members[name]
    script = (
        "flush set inet couponrush cut\nflush chain inet couponrush lossy_in\n"
        "flush chain inet couponrush lossy_out\n"
    )
    nft(member, script)
    for other in net.members.values():
        if other is not member:
            nft(other, f"delete element inet couponrush cut {{ {member.ip} }}\n", check=False)
    for where, dev in ((["-n", member.ns], "eth0"), ([], member.veth)):
        subprocess.run(
            [tc_binary(), *where, "qdisc", "del", "dev", dev, "root"],
            capture_output=True,
            check=False,
        )


def heal_all(net: Net) -> None:
    for name in net.members:
        heal(net, name)


def tc_binary() -> str:
    return binary("tc", "install the Debian package iproute2")


def _tc_run(args: list[str]) -> None:
    done = subprocess.run([tc_binary(), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StackError(f"tc {' '.join(args)}: {done.stderr.strip()}")
