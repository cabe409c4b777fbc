"""PATCH of an event's opening (amend_event.lua): a first-come-first-served event made
shuffled before it opens gets a seed and its commitment; the mode and the pre-queue's
opening are fixed once the pre-queue opened, the proof of work is not; the seed never
changes; the queue fields are refused for a first-come-first-served event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fixtures.app import AppServer
from tests.helpers import create_event
from tests.web.season import call


def _at(delta_s: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=delta_s)).isoformat()


def _patch(app: AppServer, event_id: str, **body: Any) -> Any:
    return call(app, "PATCH", f"/v1/events/{event_id}", app.admin_token, json=body)


def test_an_opening_changes_until_the_pre_queue_opens(db_app: AppServer, event_id: str) -> None:
    create_event(db_app, event_id, 10, starts_at=datetime.now(UTC) + timedelta(hours=1))
    fifo_fields = _patch(db_app, event_id, admit_per_wave=5)
    assert (fifo_fields.status_code, fifo_fields.json()["result"]) == (422, "invalid")
    made = _patch(db_app, event_id, opening="shuffled", admit_per_wave=5, admit_every_s=3)
    assert made.status_code == 200, made.text
    event = made.json()
    assert (event["opening"], event["admit_per_wave"], event["admit_every_s"]) == (
        "shuffled",
        5,
        3.0,
    )
    assert event["commitment"]
    assert event["seed"] is None
    state = call(db_app, "GET", f"/v1/events/{event_id}/queue/state").json()
    assert (state["commitment"], state["admit_per_wave"]) == (event["commitment"], 5)
    late = _patch(db_app, event_id, prequeue_opens_at=_at(1800))  # its pre-queue is open
    assert (late.status_code, late.json()["result"]) == (409, "already_started")
    assert _patch(db_app, event_id, proof_bits=8).json()["proof_bits"] == 8
    again = _patch(db_app, event_id, opening="shuffled", admit_per_wave=7).json()
    assert again["commitment"] == event["commitment"]  # the seed, once drawn, stays
    joined = call(db_app, "POST", f"/v1/events/{event_id}/queue", json={"user_id": "amy"})
    assert joined.status_code == 422  # proof_bits 8: a proof is wanted now
    assert _patch(db_app, event_id, proof_bits=0).status_code == 200  # at any time
    assert call(db_app, "POST", f"/v1/events/{event_id}/queue", json={"user_id": "amy"}).is_success
    fixed = _patch(db_app, event_id, opening="fifo")
    assert (fixed.status_code, fixed.json()["result"]) == (409, "already_started")
    assert call(db_app, "GET", f"/v1/events/{event_id}").json()["opening"] == "shuffled"


def test_a_pre_queue_opens_before_the_sale(db_app: AppServer, event_id: str) -> None:
    create_event(db_app, event_id, 10, starts_at=datetime.now(UTC) + timedelta(hours=1))
    after = _patch(db_app, event_id, opening="shuffled", prequeue_opens_at=_at(7200))
    assert (after.status_code, after.json()["result"]) == (422, "invalid")
    before = _patch(db_app, event_id, opening="shuffled", prequeue_opens_at=_at(1800))
    assert before.status_code == 200, before.text
    moved = _patch(db_app, event_id, prequeue_opens_at=_at(600))  # not open yet: it moves
    assert moved.status_code == 200, moved.text
    assert _patch(db_app, event_id, opening="fifo").json()["opening"] == "fifo"
