"""`bench pages`, small: a served slice of the demo catalogue, public lists and the signed-in
workspace pages timed through the real login form (every request answered, none an error)."""

from __future__ import annotations

import pytest

from benchmarks.reliability import run_pages, served_copy

pytestmark = pytest.mark.worker


def test_bench_pages_times_public_and_signed_in_pages(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the slice is a SQLite file of its own")
    with app.app_context(), served_copy(False, 40, app.config["EMBEDDING_MODEL"], 1) as server:
        report = run_pages(server, 24, 2)
    endpoints = report["endpoints"]
    signed_in = {"tto_workspace", "tto_workspace_paged", "outcome_demands"}
    signed_in |= {"enterprise_workspace", "broker_queue"}
    assert signed_in | {"demands", "outcomes_search"} <= set(endpoints)
    for name, row in endpoints.items():
        assert row["errors"] == 0 and row["statuses"] == [200], (name, row)
        assert row["p95_ms"] is not None
    assert report["worst_page_p95_ms"] == max(e["p95_ms"] for e in endpoints.values())
