"""What each viewer sees of a demand in each confidentiality tier: page, lists, search, API.

公开 demands are open and named; 脱敏 ones open but anonymous (the organisation withheld) for
everyone but the owner and staff; 仅经纪人可见 ones do not exist (404) except for the owner and
staff, and only staff find them in the public lists and search. Every answer comes from
``market.policy``; the policy-level tests pin its helpers, the HTTP ones that pages and API ask it.
"""

from __future__ import annotations

import json

import pytest
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from market.api.auth import issue_token
from market.policy import (
    NAMED_TIERS,
    OPEN_TIERS,
    listed_demands,
    may_see_demand_organization,
    may_view_demand,
)
from models import Demand, Organization, User, db
from models.enums import CONFIDENTIALITY

OWNER_ORG = "保密测试精密制造有限公司"
KEYWORD = "叶片无损检测"
TITLES = {
    "public": f"公开需求：高温合金{KEYWORD}",
    "desensitized": f"脱敏需求：高温合金{KEYWORD}",
    "broker_only": f"仅经纪人可见：高温合金{KEYWORD}",
}
TIERS = list(TITLES)
VIEWERS = ["anonymous", "enterprise_other", "institution", "owner", "broker", "admin"]
STAFF = {"broker", "admin"}
INSIDERS = STAFF | {"owner"}  # hold demand.view_confidential on this demand


def sees(tier: str, viewer: str) -> bool:
    """The demand exists for the viewer."""
    return tier != "broker_only" or viewer in INSIDERS


def named(tier: str, viewer: str) -> bool:
    """The viewer is told the posting organisation."""
    return tier == "public" or viewer in INSIDERS


def listed(tier: str, viewer: str) -> bool:
    """The viewer finds the demand in /demands, keyword search and the API lists."""
    return tier != "broker_only" or viewer in STAFF


@pytest.fixture(scope="module")
def password_hash() -> str:
    user = User(email="x@example.com", name="x", role="admin")
    user.set_password("correct-horse-1")
    return user.password_hash


@pytest.fixture
def people(app, password_hash) -> dict[str, User | None]:
    """One user per viewer; the owner belongs to OWNER_ORG, the others do not."""

    def org(name: str, kind: str) -> Organization:
        row = Organization(name=name, kind=kind, province="广东省", city="珠海市", approved=True)
        db.session.add(row)
        return row

    homes = {
        "owner": ("enterprise", org(OWNER_ORG, "enterprise")),
        "enterprise_other": ("enterprise", org("乙测试装备有限公司", "enterprise")),
        "institution": ("institution", org("甲测试大学", "university")),
        "broker": ("broker", None),
        "admin": ("admin", None),
    }
    users: dict[str, User | None] = {"anonymous": None}
    for viewer, (role, home) in homes.items():
        users[viewer] = User(
            email=f"{viewer}@example.cn",
            name=viewer,
            role=role,
            organization=home,
            password_hash=password_hash,
        )
        db.session.add(users[viewer])
    db.session.flush()
    return users


def post_demand(people, tier: str, status: str = "published") -> Demand:
    item = Demand(
        organization_id=people["owner"].organization_id,
        title=TITLES[tier],
        description="需要对航空发动机叶片进行无损检测，缺陷检出率≥95%。",
        field="智能制造",
        province="广东省",
        city="珠海市",
        budget_max_fen=200_000_000,
        cooperation_modes=["license"],
        confidentiality=tier,
        status=status,
    )
    item.refresh_hash()
    db.session.add(item)
    db.session.flush()
    return item


@pytest.fixture
def tokens(people) -> dict[str, str]:
    out = {v: issue_token(u, "可见性测试")[1] for v, u in people.items() if u is not None}
    db.session.commit()
    return out


def sign_in(client, user: User | None) -> None:
    """Sign in through the Flask-Login session (tests/web/test_accounts.py covers the form)."""
    with client.session_transaction() as session:
        session.clear()
        if user is not None:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True


def get_json(client, path: str, token: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get(path, headers=headers)
    return response.status_code, json.dumps(response.get_json(), ensure_ascii=False)


# ==== policy ==================================================================================


def test_every_tier_is_classified():
    """A new tier must be placed deliberately; until then it is hidden (fails closed)."""
    assert set(OPEN_TIERS) | {"broker_only"} == set(CONFIDENTIALITY)
    assert set(NAMED_TIERS) <= set(OPEN_TIERS)


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("tier", TIERS)
def test_policy_answers(people, tier, viewer):
    demand = post_demand(people, tier)
    user = people[viewer]
    assert may_view_demand(user, demand) is sees(tier, viewer)
    assert may_see_demand_organization(user, demand) is named(tier, viewer)
    shown = db.session.scalars(select(Demand.id).where(listed_demands(user))).all()
    assert (demand.id in shown) is listed(tier, viewer)


@pytest.mark.parametrize("tier", TIERS)
def test_flask_login_anonymous_is_anonymous(people, tier):
    demand = post_demand(people, tier)
    for nobody in (None, AnonymousUserMixin()):
        assert may_view_demand(nobody, demand) is sees(tier, "anonymous")
        assert may_see_demand_organization(nobody, demand) is named(tier, "anonymous")
        shown = db.session.scalars(select(Demand.id).where(listed_demands(nobody))).all()
        assert (demand.id in shown) is listed(tier, "anonymous")


@pytest.mark.parametrize("viewer", VIEWERS)
def test_unpublished_demands_are_for_owner_and_staff_and_never_listed(people, viewer):
    closed = post_demand(people, "public", status="closed")
    user = people[viewer]
    assert may_view_demand(user, closed) is (viewer in INSIDERS)
    assert closed.id not in db.session.scalars(select(Demand.id).where(listed_demands(user)))


@pytest.mark.parametrize("viewer", ["owner", "broker"])
def test_a_deactivated_account_sees_what_anonymous_sees(people, viewer):
    people[viewer].active = False
    for tier in TIERS:
        demand = post_demand(people, tier)
        assert may_view_demand(people[viewer], demand) is sees(tier, "anonymous")
        assert may_see_demand_organization(people[viewer], demand) is named(tier, "anonymous")


# ==== pages ===================================================================================


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("tier", TIERS)
def test_demand_page(client, people, tier, viewer):
    demand = post_demand(people, tier)
    db.session.commit()
    sign_in(client, people[viewer])

    response = client.get(f"/demands/{demand.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == (200 if sees(tier, viewer) else 404)
    assert (TITLES[tier] in html) is sees(tier, viewer)
    assert (OWNER_ORG in html) is (sees(tier, viewer) and named(tier, viewer))
    if sees(tier, viewer) and not named(tier, viewer):
        assert "发布单位已脱敏" in html


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("tier", TIERS)
def test_demand_lists_and_search(client, people, tier, viewer):
    demand = post_demand(people, tier)
    db.session.commit()
    sign_in(client, people[viewer])

    for path in ("/demands", f"/demands?q={KEYWORD}"):
        html = client.get(path).get_data(as_text=True)
        assert (TITLES[tier] in html) is listed(tier, viewer), path
        assert (f'/demands/{demand.id}"' in html) is listed(tier, viewer), path
        assert OWNER_ORG not in html, path  # lists never name a demand's organisation
    home = client.get("/").get_data(as_text=True)
    assert (TITLES[tier] in home) is (tier != "broker_only")  # the same for everyone
    assert OWNER_ORG not in home


@pytest.mark.parametrize("viewer", VIEWERS)
def test_closed_demand_page(client, people, viewer):
    closed = post_demand(people, "public", status="closed")
    db.session.commit()
    sign_in(client, people[viewer])
    assert client.get(f"/demands/{closed.id}").status_code == (200 if viewer in INSIDERS else 404)
    assert TITLES["public"] not in client.get("/demands").get_data(as_text=True)


# ==== API =====================================================================================


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("tier", TIERS)
def test_demand_api(client, people, tokens, tier, viewer):
    demand = post_demand(people, tier)
    db.session.commit()
    token = tokens.get(viewer)

    status, body = get_json(client, f"/api/v1/demands/{demand.id}", token)
    assert status == (200 if sees(tier, viewer) else 404)
    assert (TITLES[tier] in body) is sees(tier, viewer)
    assert (OWNER_ORG in body) is (sees(tier, viewer) and named(tier, viewer))
    if sees(tier, viewer) and not named(tier, viewer):
        assert '"organization": null' in body

    for path in ("/api/v1/demands", f"/api/v1/search?kind=demand&q={KEYWORD}"):
        status, body = get_json(client, path, token)
        assert status == 200, path
        assert (TITLES[tier] in body) is listed(tier, viewer), path
        assert (OWNER_ORG in body) is (listed(tier, viewer) and named(tier, viewer)), path


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("tier", TIERS)
def test_signed_in_session_reads_the_api_like_its_token(client, people, tier, viewer):
    """The API also answers the browser session; the same policy decides."""
    demand = post_demand(people, tier)
    db.session.commit()
    sign_in(client, people[viewer])

    status, body = get_json(client, f"/api/v1/demands/{demand.id}", None)
    assert status == (200 if sees(tier, viewer) else 404)
    assert (OWNER_ORG in body) is (sees(tier, viewer) and named(tier, viewer))
