"""``flask --app market bench bundles`` on a tiny catalogue."""

from __future__ import annotations

import json

from sqlalchemy import select

from benchmarks.bench import bench
from models import MatchBundle, db


def test_bench_reports_bundle_coverage_against_the_best_single(runner, drone_market):
    result = runner.invoke(bench, ["bundles"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["demands_with_2plus_indicators"] == 1
    assert report["mean_covered_best_single"] == 1
    assert report["mean_covered_best_bundle_or_single"] == 3
    assert report["demands_with_bundle"] == 1
    assert report["bundled_demands"]["mean_covered_best_bundle"] == 3
    assert report["stored_bundles"] == {} and report["stored"] is False
    assert db.session.scalars(select(MatchBundle)).all() == []  # read-only by default


def test_bench_store_writes_the_bundles(runner, drone_market):
    result = runner.invoke(bench, ["bundles", "--store"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["stored"] is True
    db.session.expire_all()
    assert db.session.scalars(select(MatchBundle)).all()
