"""schemathesis hooks: the API's one rule across fields, which JSON Schema cannot state.

``ends_at`` must come after ``starts_at`` (the document says so in both fields'
descriptions). The generator learns that rule here instead of the check being relaxed:
every request it generates as valid must then be accepted, exactly as on every other
operation. Negative cases and the document's own examples go out untouched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import schemathesis
from pydantic import TypeAdapter, ValidationError
from schemathesis.generation.meta import TestPhase

from couponrush.web.schemas import Rfc3339

_TIME = TypeAdapter(Rfc3339)  # the app's own reading of a time, so both sides agree


def _instant(value: object) -> datetime | None:
    try:
        return _TIME.validate_python(value)
    except ValidationError:
        return None


def map_case(
    context: schemathesis.HookContext, case: schemathesis.Case[Any]
) -> schemathesis.Case[Any]:
    body, meta = case.body, case.meta
    if (case.method, case.path) != ("POST", "/v1/events") or meta is None:
        return case
    if meta.generation.mode != schemathesis.GenerationMode.POSITIVE:
        return case
    if meta.phase.name == TestPhase.EXAMPLES or not isinstance(body, dict):
        return case
    starts, ends = _instant(body.get("starts_at")), _instant(body.get("ends_at"))
    if starts is None or ends is None or ends > starts:
        return case
    # A new body: the generated one may be a value schemathesis keeps and draws again.
    if ends < starts:
        case.body = {**body, "starts_at": body["ends_at"], "ends_at": body["starts_at"]}
    else:  # the same instant: a window of no length, so one that never closes instead
        case.body = {k: v for k, v in body.items() if k != "ends_at"}
    return case


schemathesis.hook(map_case)
