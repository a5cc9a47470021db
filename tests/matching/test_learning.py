import random

import pytest

from market.services.learning import MIN_DECISIONS, fit_weights
from market.services.listings import post_demand, post_outcome
from models import Match, ValidationError, db


def _decided(enterprise, institution, n: int, rng: random.Random) -> None:
    demand = post_demand(
        enterprise, {"title": "需求", "description": "描述", "scenario_type": "industry"}
    )
    for i in range(n):
        outcome = post_outcome(institution, {"title": f"成果{i}"})
        accepted = i % 2 == 0
        features = {
            "semantic": rng.uniform(0.6, 1.0) if accepted else rng.uniform(0.0, 0.4),
            "region": rng.random(),
            "budget": None,
        }
        db.session.add(
            Match(
                demand=demand,
                outcome=outcome,
                score=0.5,
                stage="accepted" if accepted else "rejected",
                decision_features=features,
            )
        )
    db.session.commit()


def test_weights_follow_broker_decisions(enterprise, institution):
    _decided(enterprise, institution, 40, random.Random(7))
    report = fit_weights()
    weights = report["weights"]
    assert report["decisions"] == 40 and report["accepted"] == 20
    assert weights["semantic"] == max(weights.values()) and weights["semantic"] > 0
    assert weights["semantic"] > 3 * weights["region"]
    assert all(v >= 0 for v in weights.values())
    assert report["train_accuracy"] >= 0.9


def test_too_few_decisions_refused(enterprise, institution):
    _decided(enterprise, institution, MIN_DECISIONS - 2, random.Random(1))
    with pytest.raises(ValidationError, match="经纪人决策样本不足"):
        fit_weights()
