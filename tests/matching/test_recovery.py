"""Proposals under recovery: concurrent refreshes, and reconcile repairing lost match tasks."""

import threading
import time

import pytest
from sqlalchemy import delete, func, select

from market.services import indexing, matching
from market.services.listings import post_demand, post_outcome
from models import Demand, Match, Outcome, db

DEMANDS = (
    ("海上风电场无人机自主巡检", "需要无人机自主巡检风电叶片，续航≥40分钟，识别精度≥95%。"),
    ("锂电池储能柜热失控预警", "储能柜电池热失控需提前预警，预警提前≥10分钟，误报率≤1%。"),
    ("污水处理厂曝气节能控制", "曝气能耗占全厂60%，需要智能控制降低能耗20%，出水达标。"),
)
OUTCOMES = (
    ("风电叶片无人机自主巡检系统", "无人机自主巡检风电叶片，续航50分钟，识别精度97%。"),
    ("储能电池热失控早期预警装置", "基于气体与温度的锂电池热失控预警，提前15分钟报警。"),
    ("污水曝气智能优化控制技术", "曝气量按溶解氧模型预测控制，节能25%。"),
    ("无人机巡检叶片缺陷识别算法", "无人机巡检图像识别叶片裂纹，识别精度95%。"),
)


@pytest.fixture
def indexed(enterprise, institution):
    demands = [
        post_demand(enterprise, {"title": t, "scenario_type": "industry", "description": d})
        for t, d in DEMANDS
    ]
    for title, abstract in OUTCOMES:
        post_outcome(institution, {"title": title, "abstract": abstract})
    db.session.commit()
    indexing.reconcile()
    db.session.commit()
    return [d.id for d in demands]


def _pairs() -> list[tuple[int, int, str]]:
    db.session.expire_all()
    rows = db.session.execute(
        select(Match.demand_id, Match.outcome_id, Match.stage).order_by(
            Match.demand_id, Match.outcome_id
        )
    )
    return [tuple(row) for row in rows]


def test_two_refreshes_at_once_both_finish_with_the_same_proposals(app, indexed, monkeypatch):
    matching.refresh_proposals()
    db.session.commit()
    expected = _pairs()
    assert expected
    db.session.execute(delete(Match))
    db.session.commit()

    ranked = matching.outcomes_for_demand

    def slow(*args, **kwargs):  # so the two transactions overlap
        time.sleep(0.05)
        return ranked(*args, **kwargs)

    monkeypatch.setattr(matching, "outcomes_for_demand", slow)
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    results: list[dict] = []

    def refresh() -> None:
        with app.app_context():
            try:
                start.wait(10)
                results.append(matching.refresh_proposals())
                db.session.commit()
            except BaseException as e:  # the assertion below names it
                db.session.rollback()
                errors.append(e)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert [r["demands"] for r in results] == [3, 3]
    assert _pairs() == expected
    unique = db.session.scalar(
        select(func.count()).select_from(
            select(Match.demand_id, Match.outcome_id).distinct().subquery()
        )
    )
    assert unique == len(expected)


def test_reconcile_recomputes_proposals_a_lost_task_never_stored(app, indexed):
    matching.refresh_proposals()
    db.session.commit()
    demand_id = indexed[0]
    before = [p for p in _pairs() if p[0] == demand_id]
    assert before
    # The match task was lost (Redis lost its data): the rows never reached the database.
    db.session.execute(delete(Match).where(Match.demand_id == demand_id))
    db.session.commit()
    assert demand_id in matching.stale_proposals()["demand"]

    report = matching.repair_proposals()
    db.session.commit()
    assert report["demands"] == 1
    assert [p for p in _pairs() if p[0] == demand_id] == before
    assert matching.stale_proposals() == {"demand": [], "outcome": []}


def test_a_listing_indexed_after_its_proposals_is_stale_until_repaired(app, indexed):
    matching.refresh_proposals()
    db.session.commit()
    assert matching.stale_proposals() == {"demand": [], "outcome": []}
    outcome = db.session.scalars(select(Outcome).order_by(Outcome.id)).first()
    demand = db.session.get(Demand, indexed[1])
    outcome.proposed_at = None  # indexed, but its match task never ran
    demand.proposed_at = demand.indexed_at.replace(year=2000)
    db.session.commit()
    assert matching.stale_proposals() == {"demand": [demand.id], "outcome": [outcome.id]}
    assert matching.repair_proposals() == {"demands": 1, "outcomes": 1}
    db.session.commit()
    assert matching.stale_proposals() == {"demand": [], "outcome": []}
