"""Rendering the gateway's config: with and without nginx's Lua module."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from couponrush.core.errors import ConfigError
from couponrush.settings import Settings
from couponrush.stack import nginx

APPS = ["unix:/run/app-0.sock", "unix:/run/app-1.sock"]


def rendered(tmp_path: Path, **overrides: object) -> str:
    settings = Settings(**overrides)  # type: ignore[arg-type]
    return nginx.render(
        nginx.template_text(), nginx.values(settings, "127.0.0.1:8080", APPS, tmp_path)
    )


def test_the_lua_side_is_rendered_in_with_the_settings(tmp_path: Path) -> None:
    text = rendered(
        tmp_path,
        edge_feed_token=SecretStr("feed-token"),
        worker_rate_per_s=7,
        edge_answers=False,
        edge_poll_ms=250,
    )
    assert "load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;" in text
    assert 'proxy_set_header Authorization "Bearer feed-token";' in text
    assert re.search(r"edge = false,\s+poll_ms = 250,", text)
    assert "rate = 14," in text  # seven a second for each of the two workers
    # The feed's upstream has no capacity bound: a poll never waits for a free slot.
    feed = text[text.index("upstream couponrush_feed") :].split("}")[0]
    assert "max_conns" not in feed
    assert "unix:/run/app-1.sock" in feed


def test_without_lua_every_lua_line_is_a_comment(tmp_path: Path) -> None:
    text = rendered(tmp_path, gateway_lua=False)
    live = [line.strip() for line in text.splitlines() if not line.strip().startswith("#")]
    assert not [line for line in live if "lua" in line.split(" ")[0] or "load_module" in line]


def test_retry_after_is_spread_over_the_request_ids_last_digit() -> None:
    lines = nginx.retry_later(1, 2).split("\n")
    assert [line.strip() for line in lines] == ['"~[147ad]$" 2;', '"~[258be]$" 3;', "default 1;"]
    assert nginx.retry_later(4, 0).strip() == "default 4;"


def test_a_token_that_would_break_the_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="EDGE_FEED_TOKEN"):
        rendered(tmp_path, edge_feed_token=SecretStr('a"; evil'))
