"""The compose and kube drivers' clean-up on SIGTERM: it raises KeyboardInterrupt as
Ctrl-C does (so `finally: down()` runs), a second SIGTERM does not cut the clean-up
short, and the handler before it is back afterwards."""

from __future__ import annotations

import os
import signal

import pytest

from couponrush.stack.compose import terminate_as_interrupt


def _terminated(done: list[str]) -> None:
    with terminate_as_interrupt():
        try:
            os.kill(os.getpid(), signal.SIGTERM)  # os.kill runs the handler before returning
            done.append("not interrupted")
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # a second one, during the clean-up
            done.append("cleaned up")


def test_sigterm_interrupts_once_and_the_clean_up_runs_to_its_end() -> None:
    before = signal.getsignal(signal.SIGTERM)
    done: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        _terminated(done)
    assert done == ["cleaned up"]
    assert signal.getsignal(signal.SIGTERM) == before
