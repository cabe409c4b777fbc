from __future__ import annotations

from couponrush.web.problems import problem_for_errors


def test_malformed_json_is_400_other_errors_422() -> None:
    status, body = problem_for_errors([{"type": "json_invalid", "loc": (), "msg": "x"}])
    assert (status, body["result"]) == (400, "malformed_json")
    status, body = problem_for_errors([{"type": "string_type", "loc": ("user_id",), "msg": "m"}])
    assert (status, body["result"], body["detail"]) == (422, "invalid", "user_id: m")
