"""The JSON and problem+json responses of the FastAPI routes (orjson-rendered)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from couponrush.web.problems import problem


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ProblemResponse(JSONResponse):
    media_type = "application/problem+json"


def problem_response(status: int, result: str, detail: str, **extra: Any) -> ProblemResponse:
    headers = extra.pop("headers", None)
    return ProblemResponse(problem(status, result, detail, **extra), status, headers=headers)
