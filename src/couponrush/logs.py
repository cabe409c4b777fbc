"""JSON logs through structlog, configured once by each entry point.

structlog's own loggers and the standard library's (alembic, asyncio, granian, librdkafka
through confluent-kafka) write the same JSON lines: stdlib records go through structlog's
processors by way of ``ProcessorFormatter``. Every line written while a request is being
served carries its ``request_id`` (see ``REQUEST_ID``).
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

import structlog
from structlog.typing import Processor

# The request id of the request being served, bound in the log context of everything that
# runs for it. A plain ContextVar rather than structlog's bind_contextvars: the issue route
# sets it on every request, and one ContextVar.set is the cheapest binding there is.
REQUEST_ID: ContextVar[str | None] = ContextVar("couponrush_request_id", default=None)

# Loggers that keep handlers of their own (propagate=False) and must write JSON too.
_OWN_HANDLERS = ("_granian", "granian.access")


def add_request_id(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def _shared() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        add_request_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def json_formatter() -> logging.Formatter:
    """A stdlib formatter that renders records as structlog's JSON lines (also named by
    the granian log configuration, ``logging.json``)."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared(), structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )


def configure(level: str = "info") -> None:
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    handler = logging.StreamHandler()
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric)
    for name in _OWN_HANDLERS:
        logging.getLogger(name).handlers = [handler]
    structlog.configure(
        processors=[
            *_shared(),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=True,
    )
