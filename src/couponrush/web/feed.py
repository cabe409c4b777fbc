"""The internal sold-out feed the gateways learn from (docs/gateway.md, "How the gateway
learns"). Each gateway polls it every ``edge_poll_ms``; the gateway refuses /internal/ from
outside, and the feed wants its own bearer token (``edge_feed_token``; unset: closed).

    GET /internal/edge/soldout      {"events": [{"event_id", "fingerprint"}, ...]}
    GET /internal/edge/soldout/{E}  {"event_id", "fingerprint", "winners": [user_id, ...],
                                     "answers": {lang: the 410 body the app answers, ...}}
                                    or 404 when E is not sold out (or has too many winners)

A gateway answers from an entry only while the fingerprint it loaded is still listed.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from couponrush.web.auth import bearer_matches
from couponrush.web.i18n import LANGUAGES
from couponrush.web.replies import sold_out_body
from couponrush.web.routes import Bearer, JSONResponse, Svc, problem_response
from couponrush.web.schemas import EventId

router = APIRouter(prefix="/internal/edge", include_in_schema=False)


def _refusal(svc: Svc, credentials: Bearer) -> Response | None:
    expected = svc.settings.edge_feed_token.get_secret_value()
    if not expected:  # closed: an empty token must not match an empty secret
        return problem_response(404, "not_found", "The sold-out feed is closed.")
    if not bearer_matches(credentials, expected):
        return problem_response(401, "unauthorized", "The feed's bearer token is required.")
    return None


@router.get("/soldout")
async def sold_out_events(svc: Svc, credentials: Bearer) -> Response:
    refused = _refusal(svc, credentials)
    if refused is not None:
        return refused
    stamps = await svc.frozen.sold_out(svc.settings.edge_max_winners)
    events = [{"event_id": s.event_id, "fingerprint": s.fingerprint} for s in stamps]
    return JSONResponse({"events": events})


@router.get("/soldout/{event_id}")
async def sold_out_event(event_id: EventId, svc: Svc, credentials: Bearer) -> Response:
    refused = _refusal(svc, credentials)
    if refused is not None:
        return refused
    found = await svc.frozen.frozen(event_id)
    if found is None or len(found.winners) > svc.settings.edge_max_winners:
        return problem_response(404, "not_found", "Not sold out.", event_id=event_id)
    answers = {lang: sold_out_body(event_id, lang).decode() for lang in LANGUAGES}
    return JSONResponse(
        {
            "event_id": event_id,
            "fingerprint": found.stamp.fingerprint,
            "winners": list(found.winners),
            "answers": answers,
        }
    )
