"""The gateway's win lane (lua/couponrush/lane.lua, docs/gateway.md): its options, a Lua
table for lua/gateway.conf.template, from the settings.

The lane runs issue.lua at the primary itself, so it needs what the app's batcher has:
where Redis is, its credentials, the script's SHA, the key names (as templates, from
store/keys.py), the per-user bucket, the WAIT after each run, and the coupon secret.
"""

from __future__ import annotations

from pathlib import Path

from redis.connection import parse_url

from couponrush.core.errors import ConfigError
from couponrush.settings import Settings
from couponrush.store.client import credentials, sentinel_target
from couponrush.store.keys import bucket_key, event_keys
from couponrush.store.scripts import load

# Debian's lua-nginx-redis (the lua-resty-redis client) and its connector (Sentinel).
CLIENT_FILES = (
    Path("/usr/share/lua/5.1/nginx/redis.lua"),
    Path("/usr/share/lua/5.1/nginx/redis/sentinel.lua"),
)
OFF = "{ on = false }"
# Users per run of the script at most: each brings three arguments, and LuaJIT's unpack
# takes some thousands.
_BATCH_MAX = 256
# Idle connections to the primary each nginx worker keeps.
_POOL = 32


def lua_string(text: str) -> str:
    """A Lua string literal of any text: printable ASCII as it is, but for the quote and
    the backslash, every other byte a decimal escape."""
    return '"' + "".join(_LUA_BYTE[b] for b in text.encode()) + '"'


_LUA_BYTE = [chr(b) if 32 <= b < 127 and chr(b) not in '"\\' else f"\\{b:03d}" for b in range(256)]


def wanted(settings: Settings) -> bool:
    """Whether the lane can run here: the setting on, Lua at the gateway, unsigned user
    ids (the gateway verifies no token) and a Redis it can reach (not Cluster)."""
    return (
        settings.gateway_wins
        and settings.gateway_lua
        and settings.auth == "none"
        and settings.redis_mode != "cluster"
    )


def where(settings: Settings) -> str:
    """host and port, or the sentinels and the master's name."""
    if settings.redis_mode == "sentinel":
        sentinels, master, _ = sentinel_target(settings.redis_url)
        listed = ", ".join(f"{{ {lua_string(h)}, {p} }}" for h, p in sentinels)
        return f"sentinels = {{ {listed} }}, master = {lua_string(master)}"
    found = parse_url(settings.redis_url)  # type: ignore[no-untyped-call]
    host, port = found.get("host", "127.0.0.1"), found.get("port", 6379)
    return f'host = {lua_string(str(host))}, port = {int(port)}, sentinels = {{}}, master = ""'


def login(settings: Settings) -> str:
    """The ACL user and password, from the settings or the URL."""
    found = credentials(settings)
    if not found and settings.redis_mode == "sentinel":
        found = {"password": sentinel_target(settings.redis_url)[2] or ""}
    elif not found and "@" in settings.redis_url:
        parsed = parse_url(settings.redis_url)  # type: ignore[no-untyped-call]
        found = {k: parsed[k] for k in ("username", "password") if parsed.get(k)}
    user, password = found.get("username", ""), found.get("password", "")
    return f"username = {lua_string(user)}, password = {lua_string(password)}"


def options(settings: Settings) -> str:
    """The lane's options (couponrush.config's wins), or the lane off."""
    if not wanted(settings):
        return OFF
    missing = [str(p) for p in CLIENT_FILES if not p.is_file()]
    if missing:
        raise ConfigError(
            f"the gateway's win lane needs Debian's lua-nginx-redis and "
            f"lua-nginx-redis-connector ({', '.join(missing)} missing): install them, or "
            f"set COUPONRUSH_GATEWAY_WINS=false"
        )
    keys = event_keys("%s")
    templates = ", ".join(lua_string(k) for k in keys.issue_keys)
    rate = settings.user_rate_per_s
    fields = [
        "on = true",
        where(settings),
        login(settings),
        f"timeout_ms = {settings.redis_timeout_ms}, pool = {_POOL}",
        f"sha = {lua_string(load('issue').sha)}",
        f"keys = {{ {templates} }}, barrier = {lua_string(keys.barrier)}",
        f"results = {lua_string(keys.results)}",
        f"tally_sha = {lua_string(load('count_results').sha)}",
        f"bucket = {lua_string(bucket_key('%s', '%s'))}, buckets = {str(rate > 0).lower()}",
        f"rate = {lua_string(repr(float(rate)))}, burst = {lua_string(str(settings.user_burst))}",
        f"wait = {settings.wait_replicas}, wait_ms = {settings.redis_wait_timeout_ms}",
        f"batch = {min(settings.batch_max, _BATCH_MAX)}",
        f"secret = {lua_string(settings.coupon_secret.get_secret_value())}",
    ]
    return "{ " + ", ".join(fields) + " }"
