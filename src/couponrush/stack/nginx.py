"""The nginx gateway: its configuration, rendered from deploy/nginx's template."""

from __future__ import annotations

import getpass
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

from couponrush.core.errors import ConfigError
from couponrush.settings import Settings

_PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def template_text() -> str:
    """The template shipped in the package (the same file as deploy/nginx/)."""
    return resources.files("couponrush.stack").joinpath("nginx.conf.template").read_text("utf-8")


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill every ``${NAME}``; a placeholder without a value is an error, not a blank."""
    missing = sorted({m for m in _PLACEHOLDER.findall(template) if m not in values})
    if missing:
        raise ConfigError(f"nginx template needs values for: {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def upstream_lines(app_addrs: Sequence[str], max_conns: int) -> str:
    """``app_addrs`` are nginx addresses: ``127.0.0.1:PORT`` or ``unix:/PATH``."""
    return "\n        ".join(
        f"server {addr} max_conns={max_conns} max_fails=2 fail_timeout=3s;" for addr in app_addrs
    )


def values(settings: Settings, listen: str, app_addrs: Sequence[str], state_dir: Path,
           access_log: str = "off") -> dict[str, str]:  # fmt: skip
    real_ip = "\n    ".join(f"set_real_ip_from {cidr};" for cidr in settings.trusted_proxies)
    return {
        "WORKER_PROCESSES": settings.gateway_workers,
        "NGINX_USER": getpass.getuser(),
        "STATE_DIR": str(state_dir),
        "ERROR_LOG": str(state_dir / "error.log"),
        "ACCESS_LOG": access_log,
        "REAL_IP_FROM": real_ip or "# no trusted proxies: X-Forwarded-For is ignored",
        "MAX_BODY": str(settings.max_body_bytes),
        "CLIENT_TIMEOUT": f"{settings.client_timeout_s}s",
        "CLIENT_RATE": f"{settings.client_rate_per_s}r/s",
        "CLIENT_BURST": str(settings.client_burst),
        "CONN_PER_CLIENT": str(settings.conn_per_client),
        "UPSTREAM_SERVERS": upstream_lines(app_addrs, settings.worker_max_conns),
        "UPSTREAM_TIMEOUT": f"{max(2, settings.redis_timeout_ms * 4 // 1000)}s",
        "LISTEN": listen,
        "RETRY_AFTER": str(settings.retry_after_s),
    }


def write_config(settings: Settings, listen: str, app_addrs: Sequence[str], state_dir: Path,
                 access_log: str = "off") -> Path:  # fmt: skip
    """Render the config into ``state_dir`` (with nginx's temp folders) and return it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    conf = state_dir / "nginx.conf"
    text = render(template_text(), values(settings, listen, app_addrs, state_dir, access_log))
    conf.write_text(text)
    return conf
