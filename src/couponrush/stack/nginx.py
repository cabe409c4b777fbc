"""The nginx gateway: its configuration, rendered from deploy/nginx's templates.

``couponrush.conf.template`` is the whole config; with ``gateway_lua`` its Lua parts are
filled from ``lua/gateway.conf.template`` and point at the Lua code beside it (the package
holds both folders' files as symlinks into deploy/nginx).
"""

from __future__ import annotations

import getpass
import re
import textwrap
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

from couponrush.core.errors import ConfigError
from couponrush.settings import Settings
from couponrush.stack import lane
from couponrush.stack.state import write_private

_PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
# Debian's libnginx-mod-http-lua (and the ndk module it needs, loaded first).
MODULES_DIR = "/usr/lib/nginx/modules"
_NO_LUA = "# no Lua module: no sold-out edge, global rate bound or metrics (docs/gateway.md)"
# Unix socket paths must fit sockaddr_un.
_MAX_SOCKET_PATH = 107
_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]*$")


def _package_file(*parts: str) -> Path:
    return Path(str(resources.files("couponrush.stack").joinpath(*parts)))


def template_text() -> str:
    """The template shipped in the package (the same file as deploy/nginx/)."""
    return _package_file("nginx.conf.template").read_text("utf-8")


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill every ``${NAME}``; a placeholder without a value is an error, not a blank."""
    missing = sorted({m for m in _PLACEHOLDER.findall(template) if m not in values})
    if missing:
        raise ConfigError(f"nginx template needs values for: {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def upstream_lines(app_addrs: Sequence[str], max_conns: int | None) -> str:
    """``app_addrs`` are nginx addresses: ``127.0.0.1:PORT`` or ``unix:/PATH``."""
    bound = f" max_conns={max_conns}" if max_conns else ""
    return "\n        ".join(
        f"server {addr}{bound} max_fails=2 fail_timeout=3s;" for addr in app_addrs
    )


def retry_later(base: int, spread: int) -> str:
    """The lines of the map that picks Retry-After in base..base+spread by the last hex
    digit of nginx's random request id."""
    lines = [
        f'"~[{"".join(f"{d:x}" for d in range(16) if d % (spread + 1) == k)}]$" {base + k};'
        for k in range(1, spread + 1)
    ]
    return "\n        ".join([*lines, f"default {base};"])


def json_log(path: Path, buffered: bool) -> str:
    """The access_log arguments for the JSON log (``off`` turns it off)."""
    return f"{path} couponrush_json" + (" buffer=64k flush=1s" if buffered else "")


def lua_http(settings: Settings, app_addrs: Sequence[str], state_dir: Path) -> str:
    """lua/gateway.conf.template, rendered for the http block."""
    socket = state_dir / "feed.sock"
    token = settings.edge_feed_token.get_secret_value()
    if len(str(socket)) > _MAX_SOCKET_PATH:
        raise ConfigError(f"the gateway's state folder is too deep for a socket: {socket}")
    if not _TOKEN.match(token):
        raise ConfigError("COUPONRUSH_EDGE_FEED_TOKEN: use letters, digits and ._~+/=- only")
    values = {
        "LUA_DIR": str(_package_file("lua")),
        "EDGE_MEMORY": f"{settings.edge_memory_mb}m",
        # With signed identity the edge cannot verify whose token a request holds: it
        # passes every issue request on to the app, which checks the token.
        "EDGE_ANSWERS": "true" if settings.edge_answers and settings.auth == "none" else "false",
        "EDGE_POLL_MS": str(settings.edge_poll_ms),
        "SOLDOUT_LEASE_MS": str(settings.soldout_lease_ms),
        "FEED_SOCKET": str(socket),
        "ERROR_LOG": str(state_dir / "error.log"),
        "GLOBAL_RATE": str(settings.worker_rate_per_s * len(app_addrs)),
        "RETRY_AFTER": str(settings.retry_after_s),
        "RETRY_SPREAD": str(settings.retry_after_spread_s),
        "FEED_SERVERS": upstream_lines(app_addrs, None),
        "EDGE_FEED_TOKEN": token,
        "WINS": lane.options(settings),
    }
    text = _package_file("lua", "gateway.conf.template").read_text("utf-8")
    return textwrap.indent(render(text, values), "    ").strip()


def lua_values(settings: Settings, app_addrs: Sequence[str], state_dir: Path) -> dict[str, str]:
    if not settings.gateway_lua:
        return {"LUA_MODULES": _NO_LUA, "LUA_HTTP": _NO_LUA, "LUA": "#"}
    modules = [
        f"load_module {MODULES_DIR}/{name}.so;"
        for name in ("ndk_http_module", "ngx_http_lua_module")
    ]
    return {
        "LUA_MODULES": "\n".join(modules),
        "LUA_HTTP": lua_http(settings, app_addrs, state_dir),
        "LUA": "",
    }


def values(
    settings: Settings,
    listen: str,
    app_addrs: Sequence[str],
    state_dir: Path,
    access_log: str = "off",
) -> dict[str, str]:
    real_ip = "\n    ".join(f"set_real_ip_from {cidr};" for cidr in settings.trusted_proxies)
    readers = "\n        ".join(f"{cidr} 1;" for cidr in settings.gateway_metrics_from)
    return {
        **lua_values(settings, app_addrs, state_dir),
        "WORKER_PROCESSES": settings.gateway_workers,
        "NGINX_USER": getpass.getuser(),
        "STATE_DIR": str(state_dir),
        "ERROR_LOG": str(state_dir / "error.log"),
        "ACCESS_LOG": access_log,
        "REAL_IP_FROM": real_ip or "# no trusted proxies: X-Forwarded-For is ignored",
        "METRICS_FROM": readers or "# loopback only",
        "MAX_BODY": str(settings.max_body_bytes),
        "CLIENT_TIMEOUT": f"{settings.client_timeout_s}s",
        "CLIENT_RATE": f"{settings.client_rate_per_s}r/s",
        "CLIENT_BURST": str(settings.client_burst),
        "CONN_PER_CLIENT": str(settings.conn_per_client),
        "UPSTREAM_SERVERS": upstream_lines(app_addrs, settings.worker_max_conns),
        "UPSTREAM_TIMEOUT": f"{max(2, settings.redis_timeout_ms * 4 // 1000)}s",
        "OPERATOR_TIMEOUT": f"{settings.operator_timeout_s}s",
        "LISTEN": listen,
        "RETRY_AFTER": str(settings.retry_after_s),
        "RETRY_LATER": retry_later(settings.retry_after_s, settings.retry_after_spread_s),
        # Signed identity: the gateway turns away an issue request with no token at all.
        "REQUIRE_TOKEN": "1" if settings.auth == "jwt" else "0",
        # TLS is the deployed gateway's (deploy/gateway/entrypoint.sh), not the stack's.
        "SERVER_TLS": "# no TLS on the local stack",
        "HTTP_REDIRECT": "# no TLS on the local stack",
    }


def write_config(
    settings: Settings,
    listen: str,
    app_addrs: Sequence[str],
    state_dir: Path,
    access_log: str = "off",
) -> Path:
    """Render the config into ``state_dir`` (with nginx's temp folders) and return it.
    Owner-only: it holds the feed's token."""
    state_dir.mkdir(parents=True, exist_ok=True)
    conf = state_dir / "nginx.conf"
    text = render(template_text(), values(settings, listen, app_addrs, state_dir, access_log))
    write_private(conf, text)
    return conf
