"""Pure translation of pydantic validation errors into problem bodies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from couponrush.problems import problem


def error_list(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Keep location, message and type; never echo the (possibly huge) input back."""
    return [
        {
            "loc": [str(part) for part in e.get("loc", ())],
            "msg": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in errors
    ]


def problem_for_errors(errors: Sequence[Any]) -> tuple[int, dict[str, Any]]:
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, problem(400, "malformed_json", "The body is not valid JSON.")
    listed = error_list(errors)
    first = listed[0] if listed else {"loc": [], "msg": "invalid"}
    where = ".".join(p for p in first["loc"] if p not in ("body",)) or "body"
    detail = f"{where}: {first['msg']}"
    return 422, problem(422, "invalid", detail, errors=listed)
