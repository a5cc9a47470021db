"""``flask --app market bench bundles``: how much 组合方案 add to a demand's indicator coverage.

Over the published demands with two or more indicators, from their stored proposals: the
indicators met by the best single proposed outcome, by the best bundle (a bundle is proposed
only when it beats the best single outcome, so elsewhere the best single counts), how many
demands get a bundle, and the time taken. Read-only unless ``--store``, which recomputes and
stores every demand's bundles as a proposals refresh would. Self-contained: registered on the
``bench`` group by one line at the end of benchmarks/bench.py.
"""

from __future__ import annotations

import json
import logging
import time
from statistics import mean

import click
from sqlalchemy import func, select

from market.services import bundles
from models import Demand, MatchBundle, db

log = logging.getLogger(__name__)


def measure(store: bool = False) -> dict:
    """The figures ``bench bundles`` prints (see the module docstring)."""
    started = time.perf_counter()
    demands = db.session.scalars(
        select(Demand).where(Demand.status == "published").order_by(Demand.id)
    ).all()
    rows = []
    for demand in demands:
        indicators = bundles.demand_indicators(demand)
        if len(indicators) < 2:
            continue
        cands = bundles.candidates(demand, indicators)
        plans = bundles.find_bundles(cands)
        single = max((len(c.met) for c in cands), default=0)
        rows.append(
            {
                "demand": demand.id,
                "indicators": len(indicators),
                "candidates": len(cands),
                "best_single": single,
                "best_bundle": plans[0].covered if plans else None,
                "bundles": len(plans),
            }
        )
        if store:
            bundles.propose_bundles(demand)
    if store:
        db.session.commit()
    seconds = time.perf_counter() - started
    bundled = [r for r in rows if r["best_bundle"] is not None]
    return {
        "published_demands": len(demands),
        "demands_with_2plus_indicators": len(rows),
        "with_proposals": sum(1 for r in rows if r["candidates"]),
        "mean_indicators": _mean(r["indicators"] for r in rows),
        "mean_covered_best_single": _mean(r["best_single"] for r in rows),
        "mean_covered_best_bundle_or_single": _mean(
            max(r["best_single"], r["best_bundle"] or 0) for r in rows
        ),
        "demands_with_bundle": len(bundled),
        "bundled_demand_ids": [r["demand"] for r in bundled],
        "bundled_demands": {
            "mean_covered_best_single": _mean(r["best_single"] for r in bundled),
            "mean_covered_best_bundle": _mean(r["best_bundle"] for r in bundled),
            "mean_bundles_proposed": _mean(r["bundles"] for r in bundled),
        },
        "stored_bundles": _stored(),
        "stored": store,
        "seconds": round(seconds, 3),
        "ms_per_demand": round(1000 * seconds / len(rows), 2) if rows else None,
    }


def _mean(values) -> float | None:
    values = list(values)
    return round(mean(values), 3) if values else None


def _stored() -> dict[str, int]:
    counts = db.session.execute(
        select(MatchBundle.stage, func.count()).group_by(MatchBundle.stage)
    ).all()
    return {stage: count for stage, count in counts}


def register(bench: click.Group) -> None:
    """Add ``bundles`` to the ``bench`` group."""

    @bench.command("bundles")
    @click.option("--store", is_flag=True, help="同时按当前推荐重新计算并保存各需求的组合方案")
    def bundles_bench(store: bool) -> None:
        """组合方案：多指标需求上，最佳组合与最佳单项成果满足的指标数（JSON）。"""
        click.echo(json.dumps(measure(store), ensure_ascii=False, indent=1))
