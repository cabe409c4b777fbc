"""supervisord: the process manager of the local stack (config and XML-RPC client)."""

from __future__ import annotations

import shlex
import subprocess
import sys
import xmlrpc.client
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import Faults, SupervisorTransport

from couponrush.core.errors import StackError
from couponrush.stack.state import write_private


@dataclass(frozen=True)
class Program:
    argv: Sequence[str]
    # False: started by `up` once what it needs is ready (the schema, for example).
    autostart: bool = True
    stopsignal: str = "TERM"
    # False for Redis nodes with replicas: a killed node stays down, so that its replica
    # takes over; `couponrush up` starts it again and it rejoins as a replica.
    autorestart: bool = True
    # Added to the environment every program gets.
    env: Mapping[str, str] = field(default_factory=dict)


def _environment(env: Mapping[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in env.items())


def render_conf(var: Path, programs: Mapping[str, Program], env: Mapping[str, str]) -> str:
    lines = [
        "[unix_http_server]",
        f"file={var / 'supervisor.sock'}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={var / 'logs' / 'supervisord.log'}",
        f"pidfile={var / 'supervisord.pid'}",
        f"directory={var}",
        "loglevel=info",
        "minfds=16384",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{var / 'supervisor.sock'}",
        "",
    ]
    for priority, (name, program) in enumerate(programs.items()):
        command = shlex.join(program.argv).replace("%", "%%")
        lines += [
            f"[program:{name}]",
            f"command={command}",
            f"environment={_environment({**env, **program.env})}",
            f"autostart={str(program.autostart).lower()}",
            f"autorestart={str(program.autorestart).lower()}",
            "startsecs=1",
            f"stopsignal={program.stopsignal}",
            "stopwaitsecs=15",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={var / 'logs' / name}.log",
            "stdout_logfile_maxbytes=50MB",
            f"priority={10 + priority}",
            "",
        ]
    return "\n".join(lines)


class Supervisor:
    def __init__(self, var: Path) -> None:
        self.var = var
        self.conf = var / "supervisord.conf"
        self.socket = var / "supervisor.sock"

    def _rpc(self) -> Any:
        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def running(self) -> bool:
        try:
            return self._rpc().getState()["statename"] == "RUNNING"  # type: ignore[no-any-return]
        except (OSError, xmlrpc.client.Error):
            return False

    def start(self, conf_text: str) -> None:
        # The programs' environment in it holds the admin token and the coupon secret.
        write_private(self.conf, conf_text)
        supervisord = str(Path(sys.executable).with_name("supervisord"))
        done = subprocess.run(
            [supervisord, "-c", str(self.conf)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise StackError(f"supervisord did not start: {(done.stderr or done.stdout).strip()}")

    def shutdown(self) -> None:
        rpc = self._rpc()
        rpc.stopAllProcesses(True)
        rpc.shutdown()

    def processes(self) -> list[dict[str, Any]]:
        if not self.running():
            return []
        return [
            {"name": p["name"], "state": p["statename"], "pid": p["pid"] or None}
            for p in self._rpc().getAllProcessInfo()
        ]

    def signal(self, name: str, signal: str) -> None:
        self._rpc().signalProcess(name, signal)

    def stop_program(self, name: str) -> None:
        """Stop one program with its stop signal and wait until it is down."""
        self._rpc().stopProcess(name, True)

    def pid(self, name: str) -> int:
        found = self._rpc().getProcessInfo(name)["pid"]
        if not found:
            raise StackError(f"{name} is not running")
        return int(found)

    def start_programs(self, names: Sequence[str]) -> None:
        rpc = self._rpc()
        for name in names:
            try:
                rpc.startProcess(name, False)
            except xmlrpc.client.Fault as fault:
                # Started in the meantime (supervisord restarts what dies): fine.
                if fault.faultCode != Faults.ALREADY_STARTED:
                    raise
