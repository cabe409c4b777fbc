from __future__ import annotations

import re

from couponrush.core.codes import CodeSigner


def test_code_is_deterministic_per_event_slot_user() -> None:
    signer = CodeSigner(b"s" * 32)
    assert signer.code("e1", 1, "u1") == signer.code("e1", 1, "u1")


def test_code_changes_with_any_input_and_with_the_secret() -> None:
    signer = CodeSigner(b"s" * 32)
    base = signer.code("e1", 1, "u1")
    others = {
        signer.code("e2", 1, "u1"),
        signer.code("e1", 2, "u1"),
        signer.code("e1", 1, "u2"),
        CodeSigner(b"t" * 32).code("e1", 1, "u1"),
    }
    assert base not in others
    assert len(others) == 4


def test_code_format_is_four_groups_of_base32() -> None:
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}", CodeSigner(b"k" * 32).code("e", 9, "u"))
