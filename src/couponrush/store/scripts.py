"""Lua scripts shipped as files, registered once, re-registered on NOSCRIPT.

Scripts never travel to replicas (neither SCRIPT LOAD nor EVALSHA puts them there), so a
promoted replica would answer NOSCRIPT: at start-up they are loaded on every data node,
replicas included, and a NOSCRIPT still loads them on the node that answered it (a node
that restarted or resynced has an empty script cache).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

import structlog
from redis.exceptions import NoScriptError

from couponrush.store.client import RedisClient, unavailable
from couponrush.store.nodes import Topology

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LuaScript:
    name: str
    source: str
    sha: str


def load(name: str) -> LuaScript:
    source = resources.files("couponrush.store").joinpath("lua", f"{name}.lua").read_text("utf-8")
    sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
    return LuaScript(name, source, sha)


@dataclass(frozen=True, slots=True)
class Scripts:
    issue: LuaScript
    create_event: LuaScript
    amend_event: LuaScript
    count_results: LuaScript
    queue: LuaScript

    @classmethod
    def from_package(cls) -> Scripts:
        return cls(
            issue=load("issue"),
            create_event=load("create_event"),
            amend_event=load("amend_event"),
            count_results=load("count_results"),
            queue=load("queue"),
        )

    def all(self) -> tuple[LuaScript, ...]:
        return (self.issue, self.create_event, self.amend_event, self.count_results, self.queue)


def check_sha(script: LuaScript, sha: object) -> None:
    if sha != script.sha:
        raise RuntimeError(f"Redis hashed {script.name}.lua as {sha}, expected {script.sha}")


async def register(redis: RedisClient, scripts: Scripts) -> None:
    """SCRIPT LOAD every script on the primaries (idempotent); after NOSCRIPT."""
    for script in scripts.all():
        check_sha(script, await redis.script_load(script.source))


async def register_everywhere(topology: Topology, scripts: Scripts) -> None:
    """SCRIPT LOAD every script on every data node, replicas included (start-up). A node
    that is down is skipped: it loads them on its first NOSCRIPT."""
    for script in scripts.all():
        for reply in await topology.on_every_node("SCRIPT", "LOAD", script.source):
            if isinstance(reply, Exception):
                if not unavailable(reply):
                    raise reply
                log.warning("script_load_skipped_a_node", script=script.name, error=repr(reply))
            else:
                check_sha(script, reply)


async def run(
    redis: RedisClient,
    scripts: Scripts,
    script: LuaScript,
    keys: tuple[str, ...],
    args: tuple[object, ...],
) -> object:
    """EVALSHA one script, loading the scripts and retrying once on NOSCRIPT."""
    try:
        return await redis.evalsha(script.sha, len(keys), *keys, *args)  # type: ignore[arg-type]
    except NoScriptError:
        await register(redis, scripts)
        return await redis.evalsha(script.sha, len(keys), *keys, *args)  # type: ignore[arg-type]
