"""Fixtures for deals: a broker, a proposal with a stored explanation, deals at any stage."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from market.services import deals, notices
from models import Demand, Match, Outcome, Patent, db

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DEMAND_TITLE = "港口起重机<script>alert(1)</script>智能检测"
DEMAND_TEXT = "需要对港口起重机钢结构进行裂纹智能检测，检出率≥95%，可提供码头场地。"
OUTCOME_TITLE = "钢结构裂纹智能检测系统"
OUTCOME_TEXT = "基于机器视觉的钢结构裂纹智能检测方法，检出率98%，已在中试线验证。"


def spans(text: str, phrase: str) -> list[list[int]]:
    start = text.find(phrase)
    return [[start, start + len(phrase)]]


@pytest.fixture
def broker(create_user):
    return create_user("broker@example.cn", "broker")


@pytest.fixture
def other_broker(create_user):
    return create_user("broker2@example.cn", "broker")


@pytest.fixture
def create_outcome(institution):
    def make(title=OUTCOME_TITLE, granted_on=date(2019, 6, 1), fiscal=True, **extra) -> Outcome:
        values = {
            "organization_id": institution.id,
            "title": title,
            "abstract": OUTCOME_TEXT,
            "maturity": "pilot",
            "field": "智能制造",
            "asking_price_fen": 100_000_000,
            "fiscal_funded": fiscal,
            "transfer_modes": ["license"],
        }
        values.update(extra)
        outcome = Outcome(**values)
        outcome.refresh_hash()
        db.session.add(outcome)
        db.session.flush()
        number = f"ZL2019{outcome.id:06d}.X"
        db.session.add(
            Patent(
                number=number,
                outcome_id=outcome.id,
                kind="invention",
                applied_on=date(2017, 1, 5),
                granted_on=granted_on,
                expires_on=date(2037, 1, 5),
                legal_status="granted",
            )
        )
        db.session.flush()
        db.session.refresh(outcome)
        return outcome

    return make


@pytest.fixture
def create_match(enterprise, create_outcome):
    def make(score=0.8, complexity=0.2, outcome=None, demand_title=DEMAND_TITLE) -> Match:
        demand = Demand(
            organization_id=enterprise.id,
            title=demand_title,
            description=DEMAND_TEXT,
            field="智能制造",
            province="广东省",
            city="珠海市",
            budget_max_fen=200_000_000,
            cooperation_modes=["license", "use_first"],
        )
        demand.refresh_hash()
        db.session.add(demand)
        outcome = outcome or create_outcome()
        db.session.flush()
        d_text, o_text = demand.embedding_text(), outcome.embedding_text()
        match = Match(
            demand_id=demand.id,
            outcome_id=outcome.id,
            score=score,
            complexity=complexity,
            components={"semantic": 0.7},
            explanation={
                "score": score,
                "breakdown": [
                    {
                        "feature": "semantic",
                        "label": "语义相似",
                        "value": 0.7,
                        "weight": 1.0,
                        "contribution": 0.7,
                    }
                ],
                "constraints": [
                    {"code": "status", "label": "双方均在发布中", "ok": True, "mark": "✓"}
                ],
                "indicators": [{"demand": "检出率≥95%", "outcome": "检出率98%", "status": "met"}],
                "matched_phrases": ["裂纹智能检测"],
                "sentence": "双方文本均涉及“裂纹智能检测”。",
                "highlight": {
                    "phrases": ["裂纹智能检测"],
                    "demand_spans": spans(d_text, "裂纹智能检测"),
                    "outcome_spans": spans(o_text, "裂纹智能检测"),
                },
            },
        )
        db.session.add(match)
        db.session.flush()
        return match

    return make


@pytest.fixture
def match(create_match):
    return create_match()


@pytest.fixture
def make_deal(broker):
    def advance(match: Match, stage: str = "reviewed", price_fen: int = 50_000_000):
        deal = deals.accept_match(match, broker)
        path = ["introduced", "negotiating"]
        for step in path:
            if deal.stage == stage:
                return deal
            deals.move_deal(deal, step, broker, "推进", now=NOW)
        if stage == "notice":
            notices.open_notice(deal, price_fen, "negotiated", broker, now=NOW)
        return deal

    return advance
