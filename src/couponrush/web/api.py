"""The FastAPI application: lifespan-owned clients, problem+json errors, OpenAPI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException

from couponrush import __version__
from couponrush.core.errors import RetryableError
from couponrush.settings import Settings
from couponrush.store import client
from couponrush.web import dashboard, feed, pages
from couponrush.web.frames import FrameReader
from couponrush.web.live import LiveHub
from couponrush.web.metrics import Metrics
from couponrush.web.openapi import finish, issue_doc
from couponrush.web.problems import problem_for_errors
from couponrush.web.routes import ProblemResponse, problem_response, router
from couponrush.web.wiring import Services

_RESULT_BY_STATUS = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}


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
    # Redis away or failing over (store.client's list; RedisClusterException, a slot map
    # with a hole, is not a RedisError).
    for kind in (RetryableError, RedisError, *client.UNREACHABLE):
        app.add_exception_handler(kind, on_unavailable)


async def _flush_metrics(metrics: Metrics) -> None:
    """Move the hot path's plain counts into Prometheus about once a second."""
    while True:
        await asyncio.sleep(1.0)
        metrics.flush()


def live_hub(services: Services) -> LiveHub:
    """The dashboard's poller of this worker (it starts with the first viewer)."""
    settings = services.settings
    read = FrameReader(services.events.store, services.redis, services.metrics,
                       settings.outbox_group, settings.queue)  # fmt: skip
    return LiveHub(read, settings.dashboard_interval_ms / 1000, settings.dashboard_max_viewers)


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
            await app.state.live.aclose()
            services.metrics.close()
            await services.aclose()

    app = FastAPI(
        title="couponrush",
        version=__version__,
        lifespan=lifespan,
        description="First-come-first-served coupon issuance for flash events.",
    )
    app.state.services = services
    app.state.live = live_hub(services)
    app.include_router(router)
    app.include_router(dashboard.router)
    pages.install(app)
    app.include_router(feed.router)
    _install_error_handlers(app, settings)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish(get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=[*app.routes, *issue_doc.routes],
            ), signed_identity=settings.auth == "jwt")  # fmt: skip
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
