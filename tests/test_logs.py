"""Logs: JSON lines from structlog and from stdlib loggers alike, with the request id."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import logging, structlog
from couponrush import logs
logs.configure("info")
logging.getLogger("some.library").warning("plain %s", "stdlib")
logs.REQUEST_ID.set("req-1")
structlog.get_logger("couponrush").info("bound", n=1)
logging.getLogger("_granian").error("granian line")
logging.getLogger("quiet").debug("below the level")
"""


def test_stdlib_and_structlog_lines_are_json_with_the_request_id() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=30, check=True
    )
    lines = [json.loads(line) for line in (done.stdout + done.stderr).splitlines()]
    by_event = {line["event"]: line for line in lines}
    assert set(by_event) == {"plain stdlib", "bound", "granian line"}
    assert by_event["plain stdlib"]["level"] == "warning"
    assert by_event["plain stdlib"]["logger"] == "some.library"
    assert "request_id" not in by_event["plain stdlib"]
    assert by_event["bound"]["request_id"] == "req-1"
    assert by_event["granian line"]["request_id"] == "req-1"
    assert all("timestamp" in line for line in lines)
