from __future__ import annotations

from couponrush.store.keys import decode_participant, encode_participant, event_keys, event_of


def test_all_keys_of_an_event_share_one_hash_tag() -> None:
    keys = event_keys("spring-sale")
    tags = {k.split("{")[1].split("}")[0] for k in keys.script_keys}
    assert tags == {"spring-sale"}


def test_participant_values_round_trip() -> None:
    assert decode_participant(encode_participant(12, 1700000000123)) == (12, 1700000000123)
    assert decode_participant(b"3:5") == (3, 5)


def test_every_key_of_an_event_names_its_event() -> None:
    keys = event_keys("spring-sale")
    assert {event_of(k) for k in (*keys.script_keys, keys.outbox)} == {"spring-sale"}
