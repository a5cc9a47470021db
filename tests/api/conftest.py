"""API fixtures: users with tokens, a request helper and a small catalogue."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from market.api.auth import issue_token
from models import Organization, User, db


@dataclass
class Member:
    user: User
    token: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def member(create_user):
    """A user with a fresh API token, committed so requests see it."""

    def make(email: str, role: str, org: Organization | None = None) -> Member:
        user = create_user(email, role, org)
        _token, plain = issue_token(user, "测试令牌")
        db.session.commit()
        return Member(user, plain)

    return make


@pytest.fixture
def buyer(member, enterprise) -> Member:
    return member("buyer@example.com", "enterprise", enterprise)


@pytest.fixture
def rival(member, create_org) -> Member:
    return member("rival@example.com", "enterprise", create_org("另一家测试企业"))


@pytest.fixture
def seller(member, institution) -> Member:
    return member("tto@example.edu", "institution", institution)


@pytest.fixture
def broker(member) -> Member:
    return member("broker@example.com", "broker")


@pytest.fixture
def demand_body():
    return make_demand_body


@pytest.fixture
def outcome_body():
    return make_outcome_body


def make_demand_body(**overrides) -> dict:
    body = {
        "title": "海上风电无人机巡检",
        "description": "需要续航不低于45分钟、抗风6级的巡检无人机。",
        "field": "低空经济",
        "scenario_type": "industry",
        "budget_min_fen": 50_000_000,
        "budget_max_fen": 200_000_000,
        "cooperation_modes": ["license", "use_first"],
        "required_maturity": "pilot",
        "deadline": "2027-06-30",
        "indicators": [{"name": "续航", "op": ">=", "value": 45, "unit": "分钟"}],
    }
    body.update(overrides)
    return body


def make_outcome_body(**overrides) -> dict:
    body = {
        "title": "一种长航时巡检无人机",
        "abstract": "续航50分钟，抗风7级。",
        "maturity": "pilot",
        "trl": 5,
        "asking_price_fen": 80_000_000,
        "transfer_modes": ["license", "use_first"],
        "use_first_eligible": True,
        "ipc_codes": ["B64C"],
    }
    body.update(overrides)
    return body
