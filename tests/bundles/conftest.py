"""A demand with three indicator rows and outcomes that each meet one of them: the 组合方案 case."""

from __future__ import annotations

import pytest
from flask import g
from flask.testing import FlaskClient

from market.services.listings import post_demand, post_outcome
from models import Match, db

ENDURANCE = {"name": "续航", "op": ">=", "value": 40, "unit": "分钟"}
ACCURACY = {"name": "识别准确率", "op": ">=", "value": 95, "unit": "%"}
PAYLOAD = {"name": "载重", "op": ">=", "value": 5, "unit": "kg"}


class FreshLocaleClient(FlaskClient):
    """Each request picks its locale afresh (``?lang=en``), as a server's fresh ``g`` does: the
    shared app context of the tests would otherwise keep Flask-Babel's first choice."""

    def open(self, *args, **kwargs):
        g.pop("_flask_babel", None)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    return FreshLocaleClient(app, app.response_class, use_cookies=True)


def make_outcome(org, title: str, rows: list[dict]):
    return post_outcome(
        org,
        {
            "title": title,
            "abstract": "面向风电场巡检的无人机技术。",
            "maturity": "pilot",
            "trl": 6,
            "asking_price_fen": 50 * 10**6,
            "transfer_modes": ["license", "use_first"],
            "use_first_eligible": True,
            "indicators": rows,
        },
    )


def propose(demand, outcome, relevance: float = 0.6, band: str = "strong") -> Match:
    match = Match(
        demand_id=demand.id,
        outcome_id=outcome.id,
        score=relevance,
        components={"relevance": relevance},
        explanation={"relevance": {"band": band}},
        stage="proposed",
    )
    db.session.add(match)
    db.session.flush()
    return match


@pytest.fixture
def drone_market(enterprise, institution, create_org):
    """A demand with three indicator rows; the university's outcomes each meet one of them, an
    institute's outcome meets none, and a weak proposal that would meet all three."""
    institute = create_org("示例西部研究院", "institute", city="成都市")
    demand = post_demand(
        enterprise,
        {
            "title": "风电场无人机巡检",
            "scenario_type": "industry",
            "description": "需要无人机对风电叶片进行自主巡检，并识别叶片缺陷。",
            "required_maturity": "pilot",
            "budget_max_fen": 300 * 10**6,
            "cooperation_modes": ["license", "use_first"],
            "indicators": [ENDURANCE, ACCURACY, PAYLOAD],
        },
    )
    rows = {
        "endurance": [{"name": "续航", "op": ">=", "value": 55, "unit": "分钟"}],
        "accuracy": [{"name": "识别准确率", "op": ">=", "value": 97, "unit": "%"}],
        "payload": [{"name": "载重", "op": ">=", "value": 8, "unit": "kg"}],
    }
    uni = {name: make_outcome(institution, f"无人机{name}技术", r) for name, r in rows.items()}
    other = make_outcome(
        institute, "无人机短航时平台", [{"name": "续航", "value": 20, "unit": "分钟"}]
    )
    weak = make_outcome(institute, "全能无人机", [r[0] for r in rows.values()])
    matches = {name: propose(demand, o, 0.7) for name, o in uni.items()}
    matches["other"] = propose(demand, other, 0.5)
    matches["weak"] = propose(demand, weak, 0.2, band="weak")
    db.session.commit()
    return demand, uni, matches
