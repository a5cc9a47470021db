"""A small marketplace with one user per role and resources owned by their own or another org.

Users get a fixed password hash (no scrypt per user) and sign in by session, so the matrix
tests stay fast; tests/web covers the real login form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest

from market.api.auth import issue_token
from models import (
    Deal,
    Demand,
    ImportBatch,
    Match,
    MatchBundle,
    Organization,
    Outcome,
    Patent,
    TermSheet,
    User,
    db,
)

# Roles of the matrix; a role with an organisation is tried on its own and another org's rows.
ROLES = ("anonymous", "enterprise", "enterprise_unapproved", "institution", "broker", "admin")
ORG_ROLES = ("enterprise", "enterprise_unapproved", "institution")
HIDDEN_ORG = "保密测试精密制造有限公司"
HIDDEN_TITLE = "脱敏需求：高温合金叶片无损检测"
BROKER_ONLY_TITLE = "仅经纪人可见：新型电池隔膜量产工艺"
OUTCOME_TEXT = "基于机器视觉的钢结构裂纹智能检测方法，检出率98%，已在中试线验证。"


def cells_for(resource_bound: bool) -> list[tuple[str, str]]:
    """(role, scope) cells: own/other for roles with an organisation on resource-bound actions."""
    cells = []
    for role in ROLES:
        if resource_bound and role in ORG_ROLES:
            cells += [(role, "own"), (role, "other")]
        else:
            cells.append((role, "-" if not resource_bound else "other"))
    return cells


@dataclass
class World:
    orgs: dict[str, Organization]
    users: dict[str, User | None]
    tokens: dict[str, str] = field(default_factory=dict)

    def home(self, role: str) -> Organization | None:
        user = self.users[role]
        return user.organization if user is not None else None

    # ---- resources --------------------------------------------------------------------------

    def demand(self, org: Organization, confidentiality="public", title=None, **extra) -> Demand:
        item = Demand(
            organization_id=org.id,
            title=title or f"{org.name}的测试需求",
            description="需要对港口起重机钢结构进行裂纹智能检测，检出率≥95%。",
            field="智能制造",
            province="广东省",
            city="珠海市",
            budget_max_fen=200_000_000,
            cooperation_modes=["license", "use_first"],
            confidentiality=confidentiality,
            **extra,
        )
        item.refresh_hash()
        db.session.add(item)
        db.session.flush()
        return item

    def outcome(self, org: Organization, title=None, **extra) -> Outcome:
        values = {
            "organization_id": org.id,
            "title": title or f"{org.name}的钢结构裂纹智能检测系统",
            "abstract": OUTCOME_TEXT,
            "maturity": "pilot",
            "field": "智能制造",
            "asking_price_fen": 100_000_000,
            "fiscal_funded": True,
            "transfer_modes": ["license"],
        }
        values.update(extra)
        item = Outcome(**values)
        item.refresh_hash()
        db.session.add(item)
        db.session.flush()
        db.session.add(
            Patent(
                number=f"ZL2019{item.id:06d}.X",
                outcome_id=item.id,
                kind="invention",
                applied_on=date(2017, 1, 5),
                granted_on=date(2019, 6, 1),
                expires_on=date(2037, 1, 5),
                legal_status="granted",
            )
        )
        db.session.flush()
        db.session.refresh(item)
        return item

    def match(self, demand_org, outcome_org, stage="proposed", demand=None) -> Match:
        demand = demand or self.demand(demand_org)
        item = Match(
            demand_id=demand.id,
            outcome_id=self.outcome(outcome_org).id,
            score=0.8,
            complexity=0.2,
            stage=stage,
            explanation={"sentence": "双方文本均涉及“裂纹智能检测”。"},
        )
        db.session.add(item)
        db.session.flush()
        return item

    def bundle(self, demand_org, outcome_org, stage="proposed", demand=None) -> MatchBundle:
        """A 组合方案 of two of ``outcome_org``'s outcomes for ``demand_org``'s demand."""
        first = self.match(demand_org, outcome_org, demand=demand)
        second = self.match(demand_org, outcome_org, demand=first.demand)
        item = MatchBundle(
            demand_id=first.demand_id,
            organization_id=outcome_org.id,
            key=f"{first.outcome_id}-{second.outcome_id}",
            outcome_ids=[first.outcome_id, second.outcome_id],
            match_ids=[first.id, second.id],
            coverage=[],
            indicator_count=2,
            covered=2,
            best_single=1,
            score=0.8,
            stage=stage,
        )
        db.session.add(item)
        db.session.flush()
        return item

    def submission(self, demand_org, outcome_org):
        """A 揭榜 entry: ``outcome_org`` enters an outcome against ``demand_org``'s challenge."""
        from models.challenges import ChallengeSubmission  # 揭榜挂帅, still being built

        demand = self.demand(demand_org, reward_fen=10_000_000)
        row = ChallengeSubmission(
            demand_id=demand.id,
            outcome_id=self.outcome(outcome_org).id,
            organization_id=outcome_org.id,
            pitch="我们的成果满足全部指标。",
        )
        db.session.add(row)
        db.session.flush()
        return row

    def party_orgs(self, role: str, scope: str) -> tuple[Organization, Organization]:
        """(demand org, outcome org) of a proposal that is the role's own or another pair's."""
        home = self.home(role)
        if scope == "own" and role == "institution":
            return self.orgs["enterprise_b"], home
        if scope == "own":
            return home, self.orgs["university_b"]
        return self.orgs["enterprise_b"], self.orgs["university_b"]

    def owner(self, role: str, scope: str, kind: str) -> Organization:
        if scope == "own":
            return self.home(role)
        return self.orgs["enterprise_b" if kind == "demand" else "university_b"]

    def sheet(self, match: Match) -> TermSheet:
        row = TermSheet(
            match=match,
            outcome=match.outcome,
            licensee_id=match.demand.organization_id,
            profile_key="test",
            data={"terms": {}},
        )
        db.session.add(row)
        db.session.flush()
        return row

    def deal(self, match: Match) -> Deal:
        match.stage = "accepted"
        row = Deal(match=match, stage="reviewed")
        db.session.add(row)
        db.session.flush()
        return row

    def batch(self, org: Organization) -> ImportBatch:
        row = ImportBatch(
            organization_id=org.id,
            filename="成果.csv",
            status="previewed",
            results=[{"row": 2, "title": "=HYPERLINK(1)", "status": "valid", "errors": []}],
        )
        db.session.add(row)
        db.session.flush()
        return row


@pytest.fixture(scope="session")
def password_hash() -> str:
    user = User(email="x@example.com", name="x", role="admin")
    user.set_password("correct-horse-1")
    return user.password_hash


@pytest.fixture
def world(app, password_hash) -> World:
    def org(name, kind, approved=True):
        row = Organization(
            name=name, kind=kind, province="广东省", city="珠海市", approved=approved
        )
        db.session.add(row)
        return row

    orgs = {
        "enterprise_a": org("甲测试科技有限公司", "enterprise"),
        "enterprise_b": org("乙测试装备有限公司", "enterprise"),
        "enterprise_u": org("丙测试待审企业", "enterprise", approved=False),
        "university_a": org("甲测试大学", "university"),
        "university_b": org("乙测试大学", "university"),
    }
    homes = {
        "enterprise": orgs["enterprise_a"],
        "enterprise_unapproved": orgs["enterprise_u"],
        "institution": orgs["university_a"],
        "broker": None,
        "admin": None,
    }
    users: dict[str, User | None] = {"anonymous": None}
    for role, home in homes.items():
        db_role = "enterprise" if role.startswith("enterprise") else role
        user = User(
            email=f"{role}@example.cn",
            name=role,
            role=db_role,
            organization=home,
            password_hash=password_hash,
        )
        db.session.add(user)
        users[role] = user
    db.session.flush()
    return World(orgs, users)


@pytest.fixture
def with_tokens(world: World) -> World:
    """Each signed-in role also holds an API token."""
    for role, user in world.users.items():
        if user is not None:
            world.tokens[role] = issue_token(user, "矩阵测试")[1]
    db.session.commit()
    return world


def sign_in(client, user: User | None) -> None:
    """Sign in through the Flask-Login session (the login form is tested in tests/web)."""
    with client.session_transaction() as session:
        session.clear()
        if user is not None:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
