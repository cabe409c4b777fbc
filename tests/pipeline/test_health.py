"""The metrics port of a pipeline process: /metrics, /readyz with what it waits for,
/healthz."""

from __future__ import annotations

import httpx

from couponrush.pipeline.metrics import PipelineMetrics
from couponrush.stack.procs import free_port
from couponrush.store.stats import EventStats, ReconcileRecord


def test_ready_only_once_every_expected_condition_passed() -> None:
    metrics = PipelineMetrics()
    metrics.readiness.expect("source", "sink", "group")
    port = free_port()
    metrics.serve(port)
    url = f"http://127.0.0.1:{port}"
    metrics.readiness.mark("source")
    waiting = httpx.get(f"{url}/readyz")
    assert (waiting.status_code, waiting.json()["waiting_for"]) == (503, ["group", "sink"])
    assert httpx.get(f"{url}/healthz").status_code == 200
    metrics.readiness.mark("sink")
    metrics.readiness.mark("group")
    assert httpx.get(f"{url}/readyz").json() == {"result": "ok"}
    assert "couponrush_pipeline_rows_written_total" in httpx.get(f"{url}/metrics").text


def test_event_gauges_follow_the_events_redis_holds() -> None:
    metrics = PipelineMetrics()
    value = metrics.registry.get_sample_value
    gauges = metrics.events
    gauges.show([EventStats("a", 10, 0, 10, 2), EventStats("b", 5, 5, 0, 0)])
    assert value("couponrush_event_stock_remaining", {"event": "a"}) == 0
    assert value("couponrush_outbox_backlog", {"event": "a"}) == 2
    gauges.show([EventStats("b", 5, 4, 1, 1)])
    assert value("couponrush_event_issued", {"event": "a"}) is None  # gone with its event
    assert value("couponrush_event_issued", {"event": "b"}) == 1
    gauges.show_reconciles([ReconcileRecord("b", 1_000, {"oversell": 1})], ("oversell", "x"))
    assert value("couponrush_reconcile_breaches", {"event": "b", "kind": "oversell"}) == 1
    assert value("couponrush_reconcile_breaches", {"event": "b", "kind": "x"}) == 0
    assert value("couponrush_reconcile_last_run_timestamp_seconds", {"event": "b"}) == 1.0
    gauges.show_reconciles([], ("oversell", "x"))
    assert value("couponrush_reconcile_breaches", {"event": "b", "kind": "x"}) is None
