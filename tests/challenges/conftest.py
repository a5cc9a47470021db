"""Fixtures for 揭榜挂帅: a challenge demand, published outcomes, the people who act on them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import Demand, Outcome, db, local_today


def make_challenge(org, days_left: int | None = 30, **extra) -> Demand:
    values = {
        "organization_id": org.id,
        "title": "港口起重机钢结构裂纹智能检测揭榜",
        "description": "需要对港口起重机钢结构进行裂纹智能检测，检出率≥95%，可提供码头场地。",
        "field": "智能制造",
        "reward_fen": 50_000_000,
        "challenge_deadline": local_today() + timedelta(days=days_left)
        if days_left is not None
        else None,
        "indicators": [{"name": "检出率", "op": ">=", "value": 95, "unit": "%"}],
    }
    values.update(extra)
    demand = Demand(**values)
    demand.refresh_hash()
    db.session.add(demand)
    db.session.flush()
    return demand


def make_outcome(org, title: str = "钢结构裂纹智能检测系统", **extra) -> Outcome:
    values = {
        "organization_id": org.id,
        "title": title,
        "abstract": "基于机器视觉的钢结构裂纹智能检测方法，检出率98%，已在中试线验证。",
        "maturity": "pilot",
        "transfer_modes": ["license"],
    }
    values.update(extra)
    outcome = Outcome(**values)
    outcome.refresh_hash()
    db.session.add(outcome)
    db.session.flush()
    return outcome


@pytest.fixture
def boss(enterprise, create_user):
    return create_user("boss@example.com", "enterprise", enterprise)


@pytest.fixture
def rival_boss(create_org, create_user):
    return create_user("rival@example.com", "enterprise", create_org("另一家测试企业"))


@pytest.fixture
def tto(institution, create_user):
    return create_user("tto@example.edu.cn", "institution", institution)


@pytest.fixture
def other_lab(create_org):
    return create_org("另一所测试研究院", "institute")


@pytest.fixture
def other_tto(other_lab, create_user):
    return create_user("lab@example.org.cn", "institution", other_lab)


@pytest.fixture
def challenge(enterprise):
    return make_challenge(enterprise)


@pytest.fixture
def outcome(institution):
    return make_outcome(institution)
