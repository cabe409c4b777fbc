"""Every example in the OpenAPI document is a request the API accepts or an answer it
really gives: generated clients, docs renderers and fuzzers all learn from them.

The document is walked (tests/gateway/openapi_examples.py), so the examples of routes and
schemas added later are checked the same way.
"""

from __future__ import annotations

import copy

import httpx
import pytest

from couponrush.web.i18n import catalogue
from couponrush.web.problems import STATUS, problem
from tests.gateway.conftest import AppPool, GatewayFactory
from tests.gateway.openapi_examples import (
    ExampleRequest,
    Json,
    Schemas,
    example_requests,
    misfits,
    schema_examples,
)

# Besides 2xx, what a valid request gets when the sale's state says no: no such event or
# coupon, not open yet / closed / exists, sold out. Never 400, 413, 415 or 422.
STATE_ANSWERS = (404, 409, 410)
PROBLEM_TYPE = "urn:couponrush:problem:"
PROBLEM_MEMBERS = ("type", "title", "status", "detail", "result")


@pytest.fixture(scope="module")
def document(app_pool: AppPool) -> Json:
    with app_pool.direct() as direct:
        return direct.get("/openapi.json").json()


def test_every_example_fits_its_schema(document: Json) -> None:
    assert len(list(schema_examples(document))) >= 5
    wrong = misfits(document)
    assert not wrong, "\n".join(wrong)


def test_an_example_that_breaks_its_schema_is_found(document: Json) -> None:
    broken = copy.deepcopy(document)
    example = broken["components"]["schemas"]["CreateEventRequest"]["examples"][0]
    example.update(total_stock=0, starts_at="10:00")  # below the minimum; not a date-time
    assert [m.split(": ")[0] for m in misfits(broken)] == [
        "/components/schemas/CreateEventRequest"
    ] * 2


# Results the issue route answers with the code's own detail.
OWN_DETAIL = ("not_found", "not_open", "closed", "sold_out", "rate_limited")


def test_problem_examples_are_what_the_app_answers(document: Json) -> None:
    problems = [
        e
        for _, e in schema_examples(document)
        if isinstance(e, dict) and str(e.get("type")).startswith(PROBLEM_TYPE)
    ]
    assert problems
    for example in problems:
        status, result, detail = example["status"], example["result"], example["detail"]
        extra = {k: v for k, v in example.items() if k not in PROBLEM_MEMBERS}
        assert example == problem(status, result, detail, **extra)
        assert STATUS.get(result, status) == status
        if result in OWN_DETAIL:
            assert detail == catalogue("en").detail(result)


def test_every_example_request_is_accepted(
    db_pool: AppPool, start_gateway: GatewayFactory, document: Json
) -> None:
    # Workers with a database: the season's routes answer from it.
    gw = start_gateway(db_pool)
    requests = example_requests(document)
    assert any(r.body for r in requests), "no request body example at all"
    schemas, wrong = Schemas(document), []
    with httpx.Client(base_url=gw.url, headers=db_pool.admin, timeout=10) as client:
        for request in requests:
            sent = {"json": request.body[0]} if request.body else {}
            response = client.request(request.method, request.url, params=request.query, **sent)
            wrong += [f"{request}: {why}" for why in misanswered(schemas, request, response)]
    assert not wrong, "\n".join(wrong)


def misanswered(schemas: Schemas, request: ExampleRequest, response: httpx.Response) -> list[str]:
    """Why this answer is not one a valid request gets, in the shape the document gives."""
    status = response.status_code
    if not (200 <= status < 300 or status in STATE_ANSWERS):
        return [f"answered {status}: {response.text[:300]}"]
    media_type = response.headers.get("content-type", "").split(";")[0]
    if media_type not in request.answers.get(str(status), {}).get("content", {}):
        return [f"answered {status} {media_type}, which the document does not list"]
    if media_type != "application/json" and not media_type.endswith("+json"):
        return []  # an export (CSV, JSON lines): its listed media type is the check
    at = (*request.at, "responses", str(status), "content", media_type, "schema")
    return schemas.errors(at, response.json())
