"""What a Kafka message held, kept for its dead letter."""

from __future__ import annotations

import orjson

from couponrush.pipeline.kafka_source import payload_of


def test_payload_of_keeps_what_does_not_parse() -> None:
    assert payload_of(b"\xffjunk") == {"raw": "\ufffdjunk"}
    assert payload_of(orjson.dumps({"slot": 3})) == {"slot": "3"}
