"""The FastAPI application: lifespan-owned clients, problem+json errors, OpenAPI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException

from couponrush import __version__
from couponrush.core.errors import RetryableError
from couponrush.settings import Settings
from couponrush.web import feed
from couponrush.web.metrics import Metrics
from couponrush.web.problems import problem_for_errors
from couponrush.web.routes import PROBLEMS, ProblemResponse, problem_response, router
from couponrush.web.schemas import EventId, IssueRequest, IssueResponse, Problem
from couponrush.web.wiring import Services

_RESULT_BY_STATUS = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}

# Documentation of the hot route, which is served by web.issue.IssueEndpoint.
_doc_router = APIRouter()


@_doc_router.post(
    "/v1/events/{event_id}/issue",
    status_code=201,
    response_model=IssueResponse,
    tags=["issue"],
    summary="Claim one coupon (first come, first served; idempotent per user)",
    responses={
        200: {"model": IssueResponse, "description": "already_issued: the same coupon again"},
        **PROBLEMS,
        400: {"model": Problem, "description": "malformed_json"},
        404: {"model": Problem, "description": "not_found: no such event"},
        409: {"model": Problem, "description": "not_open / closed"},
        410: {"model": Problem, "description": "sold_out"},
        429: {"model": Problem, "description": "rate_limited, with Retry-After"},
        503: {"model": Problem, "description": "unavailable / overloaded, with Retry-After"},
    },
)
async def issue(event_id: EventId, body: IssueRequest) -> IssueResponse:
    raise NotImplementedError  # documentation only


def _install_error_handlers(app: FastAPI, settings: Settings) -> None:
    retry = {"Retry-After": str(settings.retry_after_s)}

    async def on_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        status, body = problem_for_errors(exc.errors())
        return ProblemResponse(body, status)

    async def on_http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        result = _RESULT_BY_STATUS.get(exc.status_code, "http_error")
        return problem_response(exc.status_code, result, str(exc.detail), headers=exc.headers)

    async def on_unavailable(_: Request, exc: Exception) -> Response:
        return problem_response(
            503, "unavailable", f"Try again later: {type(exc).__name__}", headers=retry
        )

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    for kind in (RetryableError, RedisError, OSError, TimeoutError):
        app.add_exception_handler(kind, on_unavailable)


async def _flush_metrics(metrics: Metrics) -> None:
    """Move the hot path's plain counts into Prometheus about once a second."""
    while True:
        await asyncio.sleep(1.0)
        metrics.flush()


def create_api(services: Services) -> FastAPI:
    settings = services.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.start()
        flusher = asyncio.create_task(_flush_metrics(services.metrics))
        try:
            yield
        finally:
            flusher.cancel()
            await services.aclose()

    app = FastAPI(
        title="couponrush",
        version=__version__,
        lifespan=lifespan,
        description="First-come-first-served coupon issuance for flash events.",
    )
    app.state.services = services
    app.include_router(router)
    app.include_router(feed.router)
    _install_error_handlers(app, settings)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=[*app.routes, *_doc_router.routes],
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
