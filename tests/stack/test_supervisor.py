from __future__ import annotations

import socket
from pathlib import Path

import pytest

from couponrush.core.errors import StackError
from couponrush.stack.procs import clear_stale_socket
from couponrush.stack.supervisor import Program, render_conf


def test_supervisord_conf_quotes_arguments_and_escapes_percent(tmp_path: Path) -> None:
    programs = {
        "redis": Program(["redis-server", "--save", "", "a%b"]),
        "later": Program(["x"], autostart=False, stopsignal="INT", env={"O": "w"}),
    }
    conf = render_conf(tmp_path, programs, {"K": "v"})
    assert "command=redis-server --save '' a%%b" in conf
    assert 'environment=K="v"\n' in conf
    assert 'environment=K="v",O="w"\n' in conf
    assert "autostart=false" in conf
    assert "stopsignal=INT" in conf


def test_a_stale_socket_is_cleared_and_a_live_one_is_not(tmp_path: Path) -> None:
    stale, live = tmp_path / "stale.sock", tmp_path / "live.sock"
    with socket.socket(socket.AF_UNIX) as gone:
        gone.bind(str(stale))  # bound, never listening, closed: what a killed server leaves
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(live))
        server.listen()
        clear_stale_socket(stale)
        assert not stale.exists()
        with pytest.raises(StackError, match="in use"):
            clear_stale_socket(live)
    assert live.exists()
