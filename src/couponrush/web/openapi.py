"""The OpenAPI document: exactly what each route can answer, with examples.

Routes declare the problems the app itself gives (``problems``). ``finish`` then adds what
the gateway in front answers on any route by itself, documents every error as
``application/problem+json`` with the Problem schema, and ``Retry-After`` on 429 and 503.
Every operation takes an optional ``Accept-Language``: a problem's ``title`` and ``detail``
follow it (web/i18n.py), its ``result`` code does not.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from couponrush.web.schemas import EventId, IssueRequest, IssueResponse, Problem

_DESCRIPTIONS = {
    400: "malformed_json / bad_request: the request or its body could not be read",
    401: "unauthorized: a valid bearer token is required",
    403: "forbidden: the token's scope does not allow this (with signed identity: another "
    "user's coupon)",
    404: "not_found",
    405: "method_not_allowed, with Allow",
    409: "exists / not_open / closed / not_admitted (a shuffled opening: with Retry-After)",
    410: "sold_out",
    413: "payload_too_large",
    414: "uri_too_long (the gateway)",
    415: "unsupported_media_type: send application/json",
    422: "invalid: the body or a path parameter breaks the schema",
    429: "rate_limited: slow down and retry after Retry-After",
    431: "headers_too_large (the gateway)",
    503: "unavailable / overloaded: retry after Retry-After",
}
# What the gateway answers by itself, whatever the route: unreadable requests, oversized
# request lines and headers, the per-client rate limit and the global capacity bound.
_GATEWAY = (400, 414, 429, 431, 503)
_GATEWAY_WITH_BODY = (*_GATEWAY, 413)
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_ACCEPT_LANGUAGE = {
    "name": "Accept-Language",
    "in": "header",
    "required": False,
    "description": "ko or en (the default) for a problem's title and detail; the first of "
    "the two listed with a q above 0 wins (a header over 256 characters is not read). The "
    "result code is the same in both.",
    "schema": {"type": "string"},
}
_CONTENT_LANGUAGE = {
    "Content-Language": {
        "description": "The language of the title and detail: ko or en",
        "schema": {"type": "string", "enum": ["en", "ko"]},
    },
    "Vary": {
        "description": "Accept-Language: the title and detail follow it",
        "schema": {"type": "string"},
    },
}


_EXAMPLES: dict[str, dict[str, Any]] = {
    "IssueRequest": {"user_id": "alice"},
    "EventPatch": {"name": "Spring sale, extended", "ends_at": "2030-03-01T11:00:00Z"},
    "RedeemRequest": {"order_id": "order-1001"},
    "RevokeRequest": {"reason": "order refunded"},
    "QueueJoin": {"user_id": "alice"},
    "QueuePlace": {
        "result": "ok", "event_id": "spring-sale", "user_id": "alice", "position": 1234,
        "admitted": False, "admitted_upto": 1100, "enrolled": 48210, "estimated_wait_s": 2.0,
        "starts_at": "2030-03-01T09:00:00Z"},
    "QueueState": {
        "result": "ok", "event_id": "spring-sale", "prequeue_opens_at": "2030-03-01T08:45:00Z",
        "starts_at": "2030-03-01T09:00:00Z", "enrolled": 48210, "admitted_upto": 1100,
        "sold_out": False, "closed": False,
        "commitment": "5d1be7e9dda1ee8896be5b7e34a85ee16452a7b4c5c6a5f0a3e4a1b3d1a2c9f7",
        "seed": "1f3c4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70",
        "estimated_wait_s": 88.0, "proof_bits": 0, "admit_per_wave": 1100,
        "admit_every_s": 2.0, "poll_s": 1,
        "as_of": "2030-03-01T09:00:01.250Z"},
    "QueueOrder": {
        "result": "ok", "event_id": "spring-sale",
        "commitment": "5d1be7e9dda1ee8896be5b7e34a85ee16452a7b4c5c6a5f0a3e4a1b3d1a2c9f7",
        "seed": "1f3c4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70",
        "prequeue": ["9c56cc51b374c3ba189210d5b6d4bf57790d351c96c47c02190ecf1e430635ab"],
        "late": []},
    "IssueResponse": {
        "result": "issued", "event_id": "spring-sale", "user_id": "alice", "slot": 1,
        "coupon_code": "XYAH-CSYT-XZ6A-KHZD", "issued_at": "2030-03-01T09:00:00.123Z"},
    "CreateEventRequest": {
        "event_id": "spring-sale", "name": "Spring sale", "total_stock": 1000,
        "starts_at": "2030-03-01T09:00:00Z", "ends_at": "2030-03-01T10:00:00Z"},
    "EventResponse": {
        "result": "ok", "event_id": "spring-sale", "name": "Spring sale", "total_stock": 1000,
        "remaining": 0, "issued": 1000, "status": "sold_out",
        "starts_at": "2030-03-01T09:00:00Z", "ends_at": "2030-03-01T10:00:00Z"},
    "Problem": {
        "type": "urn:couponrush:problem:sold_out", "title": "Gone", "status": 410,
        "detail": "All coupons of this event have been issued.", "result": "sold_out",
        "event_id": "spring-sale"},
}  # fmt: skip
# Path parameters by name, on whichever route has them: each operation's examples then make
# a whole request.
_PARAMETER_EXAMPLES = {"event_id": "spring-sale", "user_id": "alice", "code": "XYAH-CSYT-XZ6A-KHZD"}
# Where a signed identity (COUPONRUSH_AUTH=jwt) names the user.
_IDENTITY_PATHS = (
    "/v1/events/{event_id}/issue",
    "/v1/events/{event_id}/issuances/{user_id}",
    "/v1/events/{event_id}/queue",
    "/v1/events/{event_id}/queue/{user_id}",
)
_USER_TOKEN = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
               "description": "Signed by the shop; its sub is the user id"}  # fmt: skip
# FastAPI's own validation error body: this API answers those as Problems instead.
_UNUSED = ("HTTPValidationError", "ValidationError")


def problems(
    *statuses: int, described: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route for the problems the app itself can give; ``described``
    says what some of them mean on this route."""
    said = {**_DESCRIPTIONS, **(described or {})}
    return {s: {"model": Problem, "description": said[s]} for s in statuses}


# Documentation of the hot route, which is served by web.issue.IssueEndpoint.
issue_doc = APIRouter()


@issue_doc.post(
    "/v1/events/{event_id}/issue",
    status_code=201,
    response_model=IssueResponse,
    tags=["issue"],
    summary="Claim one coupon (first come, first served; idempotent per user)",
    responses={
        200: {"model": IssueResponse, "description": "already_issued: the same coupon again"},
        **problems(400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 429, 503),
    },
)
async def issue(event_id: EventId, body: IssueRequest) -> IssueResponse:
    raise NotImplementedError  # documentation only


def finish(schema: dict[str, Any], signed_identity: bool) -> dict[str, Any]:
    """Complete the generated document as the module docstring says; ``signed_identity``:
    whether issuing and reading a coupon need the user's token."""
    _identity(schema, signed_identity)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, example in _EXAMPLES.items():
        if name in components:
            components[name]["examples"] = [example]
    for name in _UNUSED:
        components.pop(name, None)
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter["name"] in _PARAMETER_EXAMPLES:
                    parameter["example"] = _PARAMETER_EXAMPLES[parameter["name"]]
            operation.setdefault("parameters", []).append(dict(_ACCEPT_LANGUAGE))
            answers = operation.setdefault("responses", {})
            gateway = _GATEWAY_WITH_BODY if method in ("post", "put", "patch") else _GATEWAY
            for status in gateway:
                answers.setdefault(str(status), {"description": _DESCRIPTIONS[status]})
            for status, answer in answers.items():
                if int(status) >= 400:
                    _as_problem(int(status), answer)
    return schema


def _identity(schema: dict[str, Any], signed: bool) -> None:
    if signed:
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["UserToken"] = (
            _USER_TOKEN
        )
    for path in _IDENTITY_PATHS:
        for operation in schema.get("paths", {}).get(path, {}).values():
            if signed:
                operation["security"] = [{"UserToken": []}]
                continue
            operation.pop("security", None)
            for status in ("401", "403"):
                operation.get("responses", {}).pop(status, None)


def _as_problem(status: int, answer: dict[str, Any]) -> None:
    content = answer.setdefault("content", {})
    content.pop("application/json", None)
    content["application/problem+json"] = {"schema": {"$ref": "#/components/schemas/Problem"}}
    answer["headers"] = dict(_CONTENT_LANGUAGE)
    if status in (429, 503):
        answer["headers"].update(_RETRY_AFTER)
    if status == 405:
        answer["headers"]["Allow"] = {
            "description": "The methods this path takes",
            "schema": {"type": "string"},
        }
