from __future__ import annotations

from pathlib import Path

from couponrush.stack.supervisor import Program, render_conf


def test_supervisord_conf_quotes_arguments_and_escapes_percent(tmp_path: Path) -> None:
    programs = {"redis": Program(["redis-server", "--save", "", "a%b"]),
                "later": Program(["x"], autostart=False, stopsignal="INT")}  # fmt: skip
    conf = render_conf(tmp_path, programs, {"K": "v"})
    assert "command=redis-server --save '' a%%b" in conf
    assert 'environment=K="v"' in conf
    assert "autostart=false" in conf
    assert "stopsignal=INT" in conf
