"""Property-based tests: schemathesis against our own OpenAPI document, hypothesis on inputs.

Every operation gets a bounded number of generated requests through WSGI (no server); each answer
must not be a server error and must match the documented status codes, content type and schema.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 30
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
SKIPPED = {("DELETE", "/api/v1/tokens/{token_id}")}  # would revoke the fuzzer's own token


def operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) not in SKIPPED:
            yield operation


def fuzz(operation, headers: dict | None = None, ids: dict | None = None) -> int:
    """Run the operation's examples; path ids in ``ids`` are pinned to rows that exist."""
    calls = 0
    names = re.findall(r"{(\w+)}", operation.path)
    pinned = {name: (ids or {})[name] for name in names if name in (ids or {})}

    @FUZZ
    @given(case=operation.as_strategy(path_parameters=pinned or None))
    def run(case) -> None:
        nonlocal calls
        calls += 1
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
    return calls


@pytest.fixture(autouse=True)
def _no_indexing(monkeypatch):
    """Indexing has its own tests; here it would only slow every generated write."""
    monkeypatch.setattr("market.tasks.enqueue", lambda *args: None)


@pytest.fixture
def ids(client, buyer, seller, demand_body, outcome_body) -> dict:
    demand = client.post("/api/v1/demands", json=demand_body(), headers=buyer.headers)
    outcome = client.post("/api/v1/outcomes", json=outcome_body(), headers=seller.headers)
    patent = client.post(
        f"/api/v1/outcomes/{outcome.json['id']}/patents",
        json={"number": "CN202310000001.X"},
        headers=seller.headers,
    )
    return {
        "demand_id": demand.json["id"],
        "outcome_id": outcome.json["id"],
        "patent_id": patent.json["id"],
    }


def test_read_operations_anonymously(app, ids):
    reads = [op for op in operations(app) if op.method.upper() == "GET"]
    assert len(reads) >= 12
    calls = [fuzz(op, ids=ids) for op in reads]
    assert all(n > 0 for n in calls)
    print(f"schemathesis reads: {len(reads)} operations, {sum(calls)} requests")  # pytest -s


def test_write_operations_with_a_token(app, buyer, seller, ids):
    writes = [op for op in operations(app) if op.method.upper() != "GET"]
    assert len(writes) >= 7
    total = 0
    for op in writes:
        member = seller if "/outcomes" in op.path else buyer
        calls = fuzz(op, member.headers, ids)
        assert calls > 0
        total += calls
    print(f"schemathesis writes: {len(writes)} operations, {total} requests")  # pytest -s


@given(q=st.text(max_size=150), kind=st.sampled_from(["demand", "outcome", "other"]))
@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_search_query_never_breaks(app, q, kind):
    answer = app.test_client().get("/api/v1/search", query_string={"kind": kind, "q": q})
    assert answer.status_code in (200, 422)
    if answer.status_code == 200:
        assert answer.json["method"] in ("semantic", "keyword")
    else:
        assert answer.json["code"] == "unprocessable_entity"
        assert answer.json["errors"]


@given(
    page=st.one_of(st.integers(-5, 20_000), st.text(max_size=8)),
    per_page=st.one_of(st.integers(-5, 500), st.text(max_size=8)),
)
@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_pagination_parameters(app, page, per_page):
    answer = app.test_client().get(
        "/api/v1/demands", query_string={"page": page, "per_page": per_page}
    )
    valid = (
        isinstance(page, int)
        and isinstance(per_page, int)
        and 1 <= page <= 10_000
        and 1 <= per_page <= 100
    )
    if valid:
        assert answer.status_code == 200
        assert answer.json["page"] == page and answer.json["per_page"] == per_page
    else:
        assert answer.status_code in (200, 422)  # "007" is a valid page number
        if answer.status_code == 422:
            assert set(answer.json["errors"]) <= {"page", "per_page"}


@pytest.mark.parametrize("path", ["/api/v1/demands/0", "/api/v1/taxonomies/ipc/%00"])
def test_odd_path_values_are_client_errors(client, path):
    assert client.get(path).status_code == 404
