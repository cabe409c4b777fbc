"""The FastAPI application: lifespan-owned clients, problem+json errors, OpenAPI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException

from couponrush import __version__
from couponrush.core.errors import (
    CouponNotFound,
    DatabaseUnavailable,
    EventNotFound,
    NoDatabase,
    NoQueue,
    Refused,
    RetryableError,
)
from couponrush.core.season import BadCursor
from couponrush.settings import Settings
from couponrush.store import client, results
from couponrush.web import (
    audit_routes,
    coupon_routes,
    dashboard,
    event_routes,
    feed,
    pages,
    queue_routes,
)
from couponrush.web.frames import FrameReader
from couponrush.web.i18n import LANGUAGE, Detail, language_headers, say
from couponrush.web.lifecycle import status_of
from couponrush.web.live import LiveHub
from couponrush.web.openapi import finish, issue_doc
from couponrush.web.problems import problem_for_errors
from couponrush.web.routes import ProblemResponse, problem_response, router
from couponrush.web.wiring import Services

log = structlog.get_logger(__name__)
_RESULT_BY_STATUS = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}


def _install_error_handlers(app: FastAPI, settings: Settings) -> None:
    retry = {"Retry-After": str(settings.retry_after_s)}

    async def on_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        lang = LANGUAGE.get()
        status, body = problem_for_errors(exc.errors(), lang)
        return ProblemResponse(body, status, headers=dict(language_headers(lang)))

    async def on_http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        result = _RESULT_BY_STATUS.get(exc.status_code, "http_error")
        return problem_response(exc.status_code, result, str(exc.detail), headers=exc.headers)

    async def on_unavailable(_: Request, exc: Exception) -> Response:
        return problem_response(503, "unavailable", _unavailable_detail(exc), headers=retry)

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    _install_season_handlers(app)
    # Redis away or failing over (store.client's list; RedisClusterException, a slot map
    # with a hole, is not a RedisError).
    for kind in (RetryableError, RedisError, *client.UNREACHABLE):
        app.add_exception_handler(kind, on_unavailable)


def _install_season_handlers(app: FastAPI) -> None:
    """The lifecycle's and the coupons' refusals, as problems."""

    async def on_refused(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return problem_response(status_of(exc), exc.result, exc.detail)

    async def on_not_found(_: Request, exc: Exception) -> Response:
        coupon = isinstance(exc, CouponNotFound)
        return problem_response(404, "not_found", say("no_coupon") if coupon else None)

    async def on_bad_cursor(_: Request, exc: Exception) -> Response:
        return problem_response(422, "invalid", say("bad_cursor"))

    async def on_no_queue(_: Request, exc: Exception) -> Response:
        return problem_response(409, "no_queue")

    app.add_exception_handler(Refused, on_refused)
    app.add_exception_handler(EventNotFound, on_not_found)
    app.add_exception_handler(CouponNotFound, on_not_found)
    app.add_exception_handler(BadCursor, on_bad_cursor)
    app.add_exception_handler(NoQueue, on_no_queue)


def _unavailable_detail(exc: Exception) -> Detail | str:
    """What a 503 says: which store is away, never a library's class name."""
    if isinstance(exc, (DatabaseUnavailable, NoDatabase)):
        return str(exc)
    return say("redis_unavailable")


async def _flush_metrics(services: Services) -> None:
    """Move the hot path's plain counts into Prometheus about once a second, and each
    event's answers to its tally in Redis (the dashboard's results mix)."""
    while True:
        await asyncio.sleep(1.0)
        services.metrics.flush()
        counts = services.metrics.take_event_counts()
        try:
            await results.add(services.redis, services.scripts, counts)
        except Exception as exc:  # a dashboard figure: never worth stopping the loop
            log.warning("results_tally_failed", error=repr(exc))


def live_hub(services: Services) -> LiveHub:
    """The dashboard's poller of this worker (it starts with the first viewer)."""
    settings = services.settings
    read = FrameReader(services.events.store, services.redis, settings.outbox_group, settings.queue)
    return LiveHub(read, settings.dashboard_interval_ms / 1000, settings.dashboard_max_viewers)


def create_api(services: Services) -> FastAPI:
    settings = services.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.start()
        flusher = asyncio.create_task(_flush_metrics(services))
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
    app.include_router(event_routes.router)
    app.include_router(queue_routes.router)
    app.include_router(coupon_routes.router)
    app.include_router(audit_routes.router)
    app.include_router(dashboard.router)
    pages.install(app)
    app.include_router(feed.router)
    _install_error_handlers(app, settings)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=[*app.routes, *issue_doc.routes],
                ),
                signed_identity=settings.auth == "jwt",
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
