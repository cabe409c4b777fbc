"""schemathesis hooks: the API's rules across fields, which JSON Schema cannot state.

``ends_at`` must come after ``starts_at``; a shuffled opening's fields are for
``opening: "shuffled"`` only, and its ``prequeue_opens_at`` must come before
``starts_at`` (the document says so in the fields' descriptions). The generator learns
these rules here instead of the check being relaxed: every request it generates as valid
must then be accepted, exactly as on every other operation. Negative cases and the
document's own examples go out untouched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import schemathesis
from pydantic import TypeAdapter, ValidationError
from schemathesis.generation.meta import TestPhase

from couponrush.web.schemas import Rfc3339

_QUEUE_FIELDS = ("prequeue_opens_at", "admit_per_wave", "admit_every_s", "proof_bits")
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
    # A new body: the generated one may be a value schemathesis keeps and draws again.
    case.body = _opening(_window(body))
    return case


def _window(body: dict[str, Any]) -> dict[str, Any]:
    starts, ends = _instant(body.get("starts_at")), _instant(body.get("ends_at"))
    if starts is None or ends is None or ends > starts:
        return body
    if ends < starts:
        return {**body, "starts_at": body["ends_at"], "ends_at": body["starts_at"]}
    # the same instant: a window of no length, so one that never closes instead
    return {k: v for k, v in body.items() if k != "ends_at"}


def _opening(body: dict[str, Any]) -> dict[str, Any]:
    """A first-come-first-served body without the shuffled opening's fields; a shuffled one
    without a pre-queue that would open at or after the sale."""
    if body.get("opening") != "shuffled":
        return {k: v for k, v in body.items() if k not in _QUEUE_FIELDS or not v}
    prequeue, starts = _instant(body.get("prequeue_opens_at")), _instant(body.get("starts_at"))
    if prequeue is None or (starts is not None and prequeue < starts):
        return body
    return {k: v for k, v in body.items() if k != "prequeue_opens_at"}


schemathesis.hook(map_case)
