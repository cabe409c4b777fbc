"""Lua scripts shipped as files, registered once, re-registered on NOSCRIPT."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from redis.asyncio import Redis
from redis.exceptions import NoScriptError


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

    @classmethod
    def from_package(cls) -> Scripts:
        return cls(issue=load("issue"), create_event=load("create_event"))

    def all(self) -> tuple[LuaScript, ...]:
        return (self.issue, self.create_event)


async def register(redis: Redis, scripts: Scripts) -> None:
    """SCRIPT LOAD every script (idempotent); called at start-up and after NOSCRIPT."""
    for script in scripts.all():
        sha = await redis.script_load(script.source)
        if sha != script.sha:
            raise RuntimeError(f"Redis hashed {script.name}.lua as {sha}, expected {script.sha}")


async def run(
    redis: Redis,
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
