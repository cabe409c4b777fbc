"""The JSON and problem+json responses of the FastAPI routes (orjson-rendered)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from couponrush.web.i18n import LANGUAGE, Detail, language_headers
from couponrush.web.problems import problem


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ProblemResponse(JSONResponse):
    media_type = "application/problem+json"


def problem_response(
    status: int, result: str, detail: Detail | str | None = None, **extra: Any
) -> ProblemResponse:
    """A problem in the request's language (web/i18n.LANGUAGE), saying which it is."""
    lang = LANGUAGE.get()
    headers = {**(extra.pop("headers", None) or {}), **dict(language_headers(lang))}
    return ProblemResponse(problem(status, result, detail, lang, **extra), status, headers=headers)
