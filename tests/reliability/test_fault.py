"""The fault bench, small: 60 listings while the worker is SIGKILLed, Redis is stopped and (on
PostgreSQL) the app's database sessions are terminated. Nothing is lost or doubled."""

from __future__ import annotations

import shutil

import pytest

from benchmarks.reliability import FaultPlan, fault_table, run_fault

pytestmark = pytest.mark.worker

REDIS_URL = "redis://127.0.0.1:6394/0"  # a redis-server of the test's own, stopped mid-run


@pytest.fixture
def plan(app) -> FaultPlan:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (CI installs it)")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    return FaultPlan(
        listings=60,
        database_url=url if url.startswith("postgresql") else None,
        redis_url=REDIS_URL,
        embedder=app.config["EMBEDDING_MODEL"],
        model_dir=app.config["MODEL_DIR"],
        timeout=240,
        worker_down_for=5,
        redis_down_for=3,
    )


def test_nothing_lost_or_doubled_under_faults(plan):
    report = run_fault(plan)
    table = fault_table(report)
    assert report["ok"], table + "\n" + report["worker_log_tail"]
    faults = {f["fault"] for f in report["faults"] if "skipped" not in f}
    assert {"kill_worker", "start_worker", "stop_redis", "start_redis"} <= faults
    if report["database"] == "postgresql":
        assert "drop_db" in faults
    assert report["writes"]["acknowledged"] == 60 and report["writes"]["failed"] == 0
    assert report["enqueue"]["refused"] >= 1  # Redis really was down for some hand-overs
    assert report["repair"]["worker_kills"] == 1
    for name, check in report["checks"].items():
        assert check["ok"], name
    scenarios = report["scenarios"]
    assert set(scenarios) == {
        "ingest_under_faults",
        "task_delivered_twice",
        "two_reconciles_at_once",
        "index_files_damaged",
    }
    damaged = scenarios["index_files_damaged"]
    assert damaged["reported_on_restart"] == {"outcome": True, "demand": True}
    for name, row in scenarios.items():
        assert row["ok"], (name, row)
        assert row["lost"] == row["duplicated"] == 0
    assert report["enqueue"]["slowest_publish_s"] < 1.0  # nothing waits for a Redis that is away
    assert "result: PASS" in table
