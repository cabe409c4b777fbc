"""The local stack: Redis and the app workers under supervisord, state under var/."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import xmlrpc.client
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport

from couponrush import procs
from couponrush.errors import StackError
from couponrush.settings import Settings

PREFERRED_APP_PORT = 8000


@dataclass(frozen=True)
class StackState:
    """What `up` chose; kept in var/state.json (mode 0600) so restarts keep secrets."""

    url: str
    redis_url: str
    admin_token: str
    coupon_secret: str
    app_port: int
    redis_port: int
    workers: int


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.var = settings.var_dir.resolve()
        self.state_file = self.var / "state.json"
        self.conf_file = self.var / "supervisord.conf"
        self.socket = self.var / "supervisor.sock"

    def load_state(self) -> StackState | None:
        if not self.state_file.exists():
            return None
        return StackState(**json.loads(self.state_file.read_text()))

    def _save_state(self, state: StackState) -> None:
        self.var.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(state), fh, indent=2)

    def _rpc(self) -> Any:
        transport = SupervisorTransport(None, None, f"unix://{self.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def running(self) -> bool:
        try:
            return self._rpc().getState()["statename"] == "RUNNING"  # type: ignore[no-any-return]
        except (OSError, xmlrpc.client.Error):
            return False

    def _choose(self, workers: int | None, previous: StackState | None) -> StackState:
        s = self.settings
        app_port = s.port if s.port and procs.port_is_free(s.port) else 0
        if not app_port and procs.port_is_free(PREFERRED_APP_PORT):
            app_port = PREFERRED_APP_PORT
        redis_port = s.stack_redis_port or (previous.redis_port if previous else 0)
        if not redis_port or not procs.port_is_free(redis_port):
            redis_port = procs.free_port()
        app_port = app_port or procs.free_port()
        return StackState(
            url=f"http://127.0.0.1:{app_port}",
            redis_url=f"redis://127.0.0.1:{redis_port}/0",
            admin_token=previous.admin_token if previous else secrets.token_urlsafe(24),
            coupon_secret=previous.coupon_secret if previous else secrets.token_urlsafe(32),
            app_port=app_port,
            redis_port=redis_port,
            workers=workers or s.workers,
        )

    def up(self, workers: int | None = None) -> StackState:
        """Start everything, or return the state of the stack that already runs."""
        previous = self.load_state()
        if previous and self.running():
            return previous
        state = self._choose(workers, previous)
        for sub in ("redis", "logs"):
            (self.var / sub).mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.var / "metrics", ignore_errors=True)
        (self.var / "metrics").mkdir()
        self._save_state(state)
        self.conf_file.write_text(self._render(state))
        supervisord = str(Path(sys.executable).with_name("supervisord"))
        subprocess.run([supervisord, "-c", str(self.conf_file)], check=True)
        procs.wait_until(self.running, "supervisord", 20)
        procs.wait_until(procs.redis_ready(state.redis_url), "Redis", 30)
        procs.wait_until(procs.http_ready(state.url), "the app workers", 60)
        procs.wait_until(self._all_running, "every supervised process", 20)
        return state

    def _all_running(self) -> bool:
        return all(p["state"] == "RUNNING" for p in self.processes())

    def down(self) -> bool:
        """Stop everything `up` started; False when nothing was running."""
        if not self.running():
            return False
        rpc = self._rpc()
        rpc.stopAllProcesses(True)
        rpc.shutdown()
        procs.wait_until(lambda: not self.socket.exists(), "supervisord shutdown", 30)
        return True

    def processes(self) -> list[dict[str, Any]]:
        if not self.running():
            return []
        return [
            {"name": p["name"], "state": p["statename"], "pid": p["pid"] or None}
            for p in self._rpc().getAllProcessInfo()
        ]

    def _render(self, state: StackState) -> str:
        var = self.var
        env = {
            "COUPONRUSH_REDIS_URL": state.redis_url,
            "COUPONRUSH_ADMIN_TOKEN": state.admin_token,
            "COUPONRUSH_COUPON_SECRET": state.coupon_secret,
            "PROMETHEUS_MULTIPROC_DIR": str(var / "metrics"),
        }
        programs = {
            "redis": procs.redis_argv(state.redis_port, var / "redis"),
            "app": procs.app_argv("127.0.0.1", state.app_port, state.workers),
        }
        return render_supervisord_conf(var, programs, env)


def render_supervisord_conf(var: Path, programs: dict[str, list[str]], env: dict[str, str]) -> str:
    environment = ",".join(f'{k}="{v}"' for k, v in env.items())
    lines = [
        "[unix_http_server]", f"file={var / 'supervisor.sock'}", "chmod=0700", "",
        "[supervisord]", f"logfile={var / 'logs' / 'supervisord.log'}",
        f"pidfile={var / 'supervisord.pid'}", f"directory={var}", "loglevel=info", "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
        "[supervisorctl]", f"serverurl=unix://{var / 'supervisor.sock'}", "",
    ]  # fmt: skip
    for name, argv in programs.items():
        command = shlex.join(argv).replace("%", "%%")
        lines += [
            f"[program:{name}]", f"command={command}", f"environment={environment}",
            "autostart=true", "autorestart=true", "startsecs=1", "stopwaitsecs=15",
            "stopasgroup=true", "killasgroup=true", "redirect_stderr=true",
            f"stdout_logfile={var / 'logs' / name}.log", "stdout_logfile_maxbytes=50MB",
            f"priority={10 if name == 'redis' else 100}", "",
        ]  # fmt: skip
    return "\n".join(lines)


def require_running(stack: Stack) -> StackState:
    state = stack.load_state()
    if state is None or not stack.running():
        raise StackError("the local stack is not running; start it with 'couponrush up'")
    return state
