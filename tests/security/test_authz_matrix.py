"""The whole authorisation matrix: every policy action × role × own/other organisation.

``EXPECTED`` is written by hand from the intended rules, not derived from ``market.policy.RULES``:
a rule that drifts from it fails here, and a new action fails ``test_every_action_is_in_the_
matrix`` until someone decides who may do it. ``POLICY_CELLS`` (the number of policy-level test
cases) and ``HTTP_CELLS`` are module attributes for reports.
"""

from __future__ import annotations

import json
import re

import pytest

from market.api.auth import issue_token
from market.policy import RULES, can, require
from market.services import terms
from models import Forbidden, User, db

from .conftest import (
    BROKER_ONLY_TITLE,
    HIDDEN_ORG,
    HIDDEN_TITLE,
    ORG_ROLES,
    ROLES,
    World,
    cells_for,
    sign_in,
)

STAFF = {("broker", "-"), ("admin", "-"), ("broker", "other"), ("admin", "other")}
OWN = {(role, "own") for role in ORG_ROLES}

# Resource each action is asked about (None: an action on a collection or a page).
RESOURCE = {
    "demand.edit": "demand",
    "demand.view_confidential": "demand",
    "demand.see_proposals": "demand",
    "demand.request_access": "demand",
    "demand.decide_access": "demand",
    "outcome.edit": "outcome",
    "outcome.see_proposals": "outcome",
    "outcome.view_unpublished": "outcome",
    "outcome.consent_use_first": "outcome",
    "import.view": "batch",
    "match.review": "match",
    "match.view": "match",
    "match.request_intro": "match",
    "match.answer_intro": "match",
    "bundle.view": "bundle",
    "bundle.review": "bundle",
    "termsheet.create": "match",
    "termsheet.edit": "sheet",
    "termsheet.view": "sheet",
    "termsheet.export": "sheet",
    "deal.view": "deal",
    "deal.move": "deal",
    "deal.reward": "deal",
    "notice.open": "deal",
    "challenge.withdraw": "submission",
    "challenge.decide": "demand",
    "challenge.view_submissions": "demand",
    "challenge.view_submission": "submission",
}


def allow(*cells: str) -> set[tuple[str, str]]:
    """Cells written as "role" (collection actions, or org-less roles) or "role:own"."""
    out = set()
    for cell in cells:
        role, _, scope = cell.partition(":")
        out.add((role, scope or "-"))
    return out


def staff_and(*cells: str) -> set[tuple[str, str]]:
    return STAFF | allow(*cells)


ADMIN = {("admin", "-"), ("admin", "other")}
OWNERS = OWN  # any member of the owning organisation, whatever their role

EXPECTED: dict[str, set[tuple[str, str]]] = {
    # listings: approved organisations post; owners edit; owners and staff see what is hidden
    "demand.create": allow("enterprise"),
    "demand.edit": ADMIN | allow("enterprise:own", "enterprise_unapproved:own"),
    "demand.view_confidential": STAFF | OWNERS,
    "demand.see_proposals": STAFF | OWNERS,
    # 分级保密: institutions ask to see who posted a 脱敏 demand; its enterprise decides
    "demand.request_access": allow("institution:other"),
    "demand.decide_access": allow("enterprise:own", "enterprise_unapproved:own"),
    "outcome.create": allow("institution"),
    "outcome.edit": ADMIN | allow("institution:own"),
    "outcome.see_proposals": STAFF | OWNERS,
    "outcome.view_unpublished": STAFF | OWNERS,
    "outcome.import": allow("institution"),
    "outcome.consent_use_first": allow("institution:own"),
    "workspace.enterprise": allow("enterprise", "enterprise_unapproved"),
    "workspace.institution": allow("institution"),
    "import.view": ADMIN | allow("institution:own"),
    # proposals and deals: brokers decide, the two parties see their own
    "match.review": STAFF,
    "match.view": STAFF | OWNERS,
    "match.request_intro": OWNERS,
    "match.answer_intro": STAFF,
    # 组合方案: like a proposal — brokers decide, the demand's and the outcomes' organisations see
    "bundle.view": STAFF | OWNERS,
    "bundle.review": STAFF,
    "termsheet.create": STAFF,
    "termsheet.edit": STAFF | OWNERS,
    "termsheet.view": STAFF | OWNERS,
    "termsheet.export": STAFF | OWNERS,
    "broker.cockpit": STAFF,
    "use_first.consents": allow("institution"),
    "deal.view": STAFF | OWNERS,
    "deal.move": STAFF,
    "deal.reward": STAFF,
    "notice.open": STAFF,
    "notice.resolve_objection": STAFF,
    # 揭榜挂帅: approved institutions enter, the posting enterprise decides, staff look on;
    # a submission's "own" side is the submitting institution or the challenge's enterprise
    "challenge.submit": allow("institution"),
    "challenge.withdraw": allow("institution:own"),
    "challenge.decide": ADMIN | allow("enterprise:own", "enterprise_unapproved:own"),
    "challenge.view_submissions": STAFF | OWNERS,
    "challenge.view_submission": STAFF | OWNERS,
    # operations
    "org.approve": ADMIN,
    "audit.view": ADMIN,
    "case.publish": ADMIN,
    "use_first.sweep": ADMIN,
    "policy.edit": ADMIN,
    "token.revoke_any": ADMIN,
    "dashboard.view": STAFF,
}

POLICY_CASES = [
    pytest.param(action, role, scope, id=f"{action}-{role}-{scope}")
    for action in EXPECTED
    for role, scope in cells_for(action in RESOURCE)
]
POLICY_CELLS = len(POLICY_CASES)


def build(world: World, kind: str | None, role: str, scope: str):
    if kind is None:
        return None
    if kind in ("demand", "outcome", "batch"):
        org = world.owner(role, scope, "demand" if kind == "demand" else "outcome")
        return {"demand": world.demand, "outcome": world.outcome, "batch": world.batch}[kind](org)
    if kind == "submission":
        return world.submission(*world.party_orgs(role, scope))
    if kind == "bundle":
        return world.bundle(*world.party_orgs(role, scope))
    match = world.match(*world.party_orgs(role, scope))
    if kind == "match":
        return match
    return world.sheet(match) if kind == "sheet" else world.deal(match)


def test_every_action_is_in_the_matrix():
    assert set(RULES) == set(EXPECTED), "add the new action to EXPECTED (and RESOURCE)"
    assert set(RESOURCE) <= set(EXPECTED)


def test_matrix_size():
    """9 cells per resource-bound action (own/other for three roles + three org-less), 6 else."""
    bound = len(RESOURCE)
    assert 9 * bound + 6 * (len(EXPECTED) - bound) == POLICY_CELLS
    assert 9 * len(HTTP) == HTTP_CELLS


@pytest.mark.parametrize(("action", "role", "scope"), POLICY_CASES)
def test_policy_cell(world, action, role, scope):
    user = world.users[role]
    resource = build(world, RESOURCE.get(action), role, scope)
    allowed = (role, scope) in EXPECTED[action]
    assert can(user, action, resource) is allowed
    if not allowed:
        with pytest.raises(Forbidden):
            require(user, action, resource)


def test_deactivated_users_may_do_nothing(world):
    for role in ROLES[1:]:
        world.users[role].active = False
    for action in EXPECTED:
        for role, scope in cells_for(action in RESOURCE):
            resource = build(world, RESOURCE.get(action), role, scope)
            assert not can(world.users[role], action, resource), (action, role, scope)


def test_unknown_action_is_an_error(world):
    with pytest.raises(KeyError):
        can(world.users["admin"], "demand.delete_everything")


@pytest.mark.parametrize("stage", ["proposed", "rejected", "withdrawn", "accepted"])
def test_outcome_side_sees_a_broker_only_proposal_only_once_accepted(world, stage):
    """A 仅经纪人可见 demand reaches the institution through a broker, never the machine."""
    hidden = world.demand(world.orgs["enterprise_b"], "broker_only")
    match = world.match(None, world.orgs["university_a"], stage=stage, demand=hidden)
    institution, owner = world.users["institution"], world.users["enterprise"]
    shown = stage == "accepted"
    assert can(institution, "match.view", match) is shown
    assert can(institution, "match.request_intro", match) is shown
    owner.organization = world.orgs["enterprise_b"]
    db.session.flush()
    assert can(owner, "match.view", match) and can(world.users["broker"], "match.view", match)


@pytest.mark.parametrize("stage", ["proposed", "rejected", "accepted"])
def test_outcome_side_sees_a_broker_only_bundle_only_once_accepted(world, stage):
    hidden = world.demand(world.orgs["enterprise_b"], "broker_only")
    bundle = world.bundle(None, world.orgs["university_a"], stage=stage, demand=hidden)
    assert can(world.users["institution"], "bundle.view", bundle) is (stage == "accepted")
    assert can(world.users["broker"], "bundle.view", bundle)


# ==== HTTP level ==============================================================================
# Conventions (market/errors.py, flask-login, the API's visibility rule):
#   pages: anonymous → 302 to /auth/login; signed in but not allowed → 403; hidden rows → 404
#   API:   anonymous write or private read → 401; a row the caller may not see → 404;
#          a row they see but may not change → 403.

LOGIN = 302


def _statuses(default: int, **cells: int) -> dict[tuple[str, str], int]:
    """Expected status per cell; keys like enterprise_own, broker, anonymous."""
    out = {}
    for role, scope in cells_for(True):
        key = role if scope in ("-", "other") and role not in ORG_ROLES else f"{role}_{scope}"
        out[(role, scope)] = cells.get(key, cells.get(role, default))
    return out


# endpoint → (method, URL template, expected status per cell); /api/ paths use tokens
HTTP = {
    "web_edit_demand": (
        "GET",
        "/workspace/enterprise/demands/{demand}/edit",
        _statuses(403, anonymous=LOGIN, enterprise_own=200, enterprise_unapproved_own=200),
    ),
    "api_patch_demand": (
        "PATCH",
        "/api/v1/demands/{demand}",
        _statuses(403, anonymous=401, enterprise_own=200, enterprise_unapproved_own=200, admin=200),
    ),
    "web_demand_proposals": (
        "GET",
        "/my/demands/{demand}/proposals",
        _statuses(
            403,
            anonymous=LOGIN,
            enterprise_own=200,
            enterprise_unapproved_own=200,
            institution_own=200,
            broker=200,
            admin=200,
        ),
    ),
    "web_broker_queue": ("GET", "/broker/", _statuses(403, anonymous=LOGIN, broker=200, admin=200)),
    "web_accept_proposal": (
        "POST",
        "/broker/proposals/{match}/accept",
        _statuses(403, anonymous=LOGIN, broker=302, admin=302),
    ),
    "api_accept_proposal": (
        "POST",
        "/api/v1/matches/{match}/accept",
        _statuses(
            404,
            anonymous=401,
            enterprise_own=403,
            enterprise_unapproved_own=403,
            institution_own=403,
            broker=201,
            admin=201,
        ),
    ),
    "web_termsheet_view": (
        "GET",
        "/terms/{sheet}",
        _statuses(
            403,
            anonymous=LOGIN,
            enterprise_own=200,
            enterprise_unapproved_own=200,
            institution_own=200,
            broker=200,
            admin=200,
        ),
    ),
    "api_termsheet_edit": (
        "PATCH",
        "/api/v1/termsheets/{sheet}",
        _statuses(
            404,
            anonymous=401,
            enterprise_own=200,
            enterprise_unapproved_own=200,
            institution_own=200,
            broker=200,
            admin=200,
        ),
    ),
    "web_termsheet_export": (
        "GET",
        "/terms/{sheet}/export/csv",
        _statuses(
            403,
            anonymous=LOGIN,
            enterprise_own=200,
            enterprise_unapproved_own=200,
            institution_own=200,
            broker=200,
            admin=200,
        ),
    ),
    "web_deal_page": (
        "GET",
        "/broker/deals/{deal}",
        _statuses(403, anonymous=LOGIN, broker=200, admin=200),
    ),
    "api_deal_view": (
        "GET",
        "/api/v1/deals/{deal}",
        _statuses(
            404,
            anonymous=401,
            enterprise_own=200,
            enterprise_unapproved_own=200,
            institution_own=200,
            broker=200,
            admin=200,
        ),
    ),
    "web_party_proposal": (
        "GET",
        "/my/proposals/{match}",
        _statuses(
            403,
            anonymous=LOGIN,
            enterprise_own=200,
            enterprise_unapproved_own=200,
            institution_own=200,
            broker=200,
            admin=200,
        ),
    ),
    "web_audit_viewer": ("GET", "/admin/audit", _statuses(403, anonymous=LOGIN, admin=200)),
    "web_org_approval": (
        "GET",
        "/accounts/admin/organizations",
        _statuses(403, anonymous=LOGIN, admin=200),
    ),
    "web_import_report": (
        "GET",
        "/workspace/institution/import/{batch}/report.csv",
        _statuses(403, anonymous=LOGIN, institution_own=200),
    ),
    "web_import_batch": (
        "GET",
        "/workspace/institution/import/{batch}",
        _statuses(403, anonymous=LOGIN, institution_own=200),
    ),
}

HTTP_CASES = [
    pytest.param(name, role, scope, id=f"{name}-{role}-{scope}")
    for name in HTTP
    for role, scope in cells_for(True)
]
HTTP_CELLS = len(HTTP_CASES)


def prepare(world: World, role: str, scope: str, url: str) -> dict:
    """Create just the rows the URL names, owned by the cell's own or another organisation."""
    ids = {}
    if "{demand}" in url:
        ids["demand"] = world.demand(world.owner(role, scope, "demand")).id
    if "{batch}" in url:
        ids["batch"] = world.batch(world.owner(role, scope, "outcome")).id
    if any(k in url for k in ("{match}", "{sheet}", "{deal}")):
        match = world.match(*world.party_orgs(role, scope))
        ids["match"] = match.id
        if "{sheet}" in url:
            staff = world.users["broker"]
            ids["sheet"] = terms.draft_for_match(match, None, "use_first", staff).id
        if "{deal}" in url:
            ids["deal"] = world.deal(match).id
    return ids


def body_for(name: str, ids: dict) -> dict | None:
    if name == "api_patch_demand":
        return {"field": "智能制造"}
    if name == "api_accept_proposal":
        return {"comment": "矩阵测试"}
    if name == "api_termsheet_edit":
        return {"changes": {"notice_days": 20}}
    return None


@pytest.mark.parametrize(("name", "role", "scope"), HTTP_CASES)
def test_http_cell(client, with_tokens, name, role, scope):
    world = with_tokens
    method, url, expected = HTTP[name]
    ids = prepare(world, role, scope, url)
    db.session.commit()
    path = url.format(**ids)
    headers = {}
    if path.startswith("/api/"):
        if role in world.tokens:
            headers["Authorization"] = f"Bearer {world.tokens[role]}"
    else:
        sign_in(client, world.users[role])
    response = client.open(path, method=method, json=body_for(name, ids), headers=headers)
    want = expected[(role, scope)]
    assert response.status_code == want, response.get_data(as_text=True)[:500]
    if want == LOGIN and role == "anonymous":
        assert "/auth/login" in response.headers["Location"]


# ==== confidential demands: what each viewer's HTML and JSON contain ==========================

VIEWERS = ["anonymous", "enterprise_owner", "enterprise_other", "institution", "broker", "admin"]
SEES_HIDDEN = {"enterprise_owner", "broker", "admin"}


@pytest.fixture
def confidential(with_tokens):
    """A 脱敏 and a 仅经纪人可见 demand of HIDDEN_ORG, whose member is the owner viewer."""
    world = with_tokens
    org = world.orgs["enterprise_b"]
    org.name = HIDDEN_ORG
    desensitized = world.demand(org, "desensitized", HIDDEN_TITLE)
    broker_only = world.demand(org, "broker_only", BROKER_ONLY_TITLE)
    owner = User(
        email="owner@example.cn",
        name="owner",
        role="enterprise",
        organization=org,
        password_hash=world.users["enterprise"].password_hash,
    )
    db.session.add(owner)
    db.session.flush()
    world.users["enterprise_owner"] = owner
    world.tokens["enterprise_owner"] = issue_token(owner, "矩阵测试")[1]
    world.users["enterprise_other"] = world.users["enterprise"]
    world.tokens["enterprise_other"] = world.tokens["enterprise"]
    db.session.commit()
    return world, desensitized, broker_only


def as_viewer(client, world: World, viewer: str) -> dict:
    sign_in(client, world.users.get(viewer))
    token = world.tokens.get(viewer)
    return {"Authorization": f"Bearer {token}"} if token else {}


def api_json(client, path: str, headers: dict):
    response = client.get(path, headers=headers)
    return response.status_code, json.dumps(response.get_json(), ensure_ascii=False)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_desensitized_demand_hides_its_organisation(client, confidential, viewer):
    world, demand, _hidden = confidential
    headers = as_viewer(client, world, viewer)
    sees = viewer in SEES_HIDDEN

    page = client.get(f"/demands/{demand.id}")
    assert page.status_code == 200
    assert (HIDDEN_ORG in page.get_data(as_text=True)) is sees
    for listing in ("/demands", "/", f"/demands?q={HIDDEN_TITLE[:6]}"):
        html = client.get(listing).get_data(as_text=True)
        assert HIDDEN_ORG not in html or sees, listing

    status, body = api_json(client, f"/api/v1/demands/{demand.id}", headers)
    assert status == 200 and (HIDDEN_ORG in body) is sees
    assert ('"organization": null' in body) is not sees
    for listing in ("/api/v1/demands", f"/api/v1/search?kind=demand&q={HIDDEN_TITLE[:6]}"):
        status, body = api_json(client, listing, headers)
        assert status == 200 and HIDDEN_TITLE in body, listing
        assert (HIDDEN_ORG in body) is sees, listing


@pytest.mark.parametrize("viewer", VIEWERS)
def test_broker_only_demand_exists_only_for_owner_and_brokers(client, confidential, viewer):
    world, _desensitized, demand = confidential
    headers = as_viewer(client, world, viewer)
    sees = viewer in SEES_HIDDEN

    page = client.get(f"/demands/{demand.id}")
    assert page.status_code == (200 if sees else 404)
    if sees:
        assert HIDDEN_ORG in page.get_data(as_text=True)
    assert BROKER_ONLY_TITLE not in client.get("/").get_data(as_text=True)
    listing = client.get("/demands").get_data(as_text=True)
    assert (BROKER_ONLY_TITLE in listing) is (viewer in ("broker", "admin"))

    status, body = api_json(client, f"/api/v1/demands/{demand.id}", headers)
    assert status == (200 if sees else 404)
    assert (BROKER_ONLY_TITLE in body) is sees and (HIDDEN_ORG in body) is sees
    for path in ("/api/v1/demands", f"/api/v1/search?kind=demand&q={BROKER_ONLY_TITLE[:8]}"):
        status, body = api_json(client, path, headers)
        assert status == 200
        assert BROKER_ONLY_TITLE not in body or viewer in ("broker", "admin"), path


@pytest.mark.parametrize("hidden", ["desensitized", "broker_only"])
def test_institution_party_never_learns_the_hidden_owner(client, confidential, hidden):
    """The outcome side of a proposal: name withheld (脱敏), whole demand withheld (仅经纪人)."""
    world, desensitized, broker_only = confidential
    demand = desensitized if hidden == "desensitized" else broker_only
    match = world.match(None, world.orgs["university_a"], demand=demand)
    db.session.commit()
    headers = as_viewer(client, world, "institution")

    page = client.get(f"/my/proposals/{match.id}")
    html = page.get_data(as_text=True)
    assert HIDDEN_ORG not in html
    status, one = api_json(client, f"/api/v1/matches/{match.id}", headers)
    _status, many = api_json(client, "/api/v1/matches", headers)
    if hidden == "desensitized":
        assert page.status_code == 200 and HIDDEN_TITLE in html and "发布单位已脱敏" in html
        assert status == 200 and HIDDEN_TITLE in many
    else:
        assert page.status_code == 403 and BROKER_ONLY_TITLE not in html
        assert status == 404 and BROKER_ONLY_TITLE not in one
        assert BROKER_ONLY_TITLE not in many
    assert HIDDEN_ORG not in one + many
    outcome_page = client.get(f"/my/outcomes/{match.outcome_id}/demands").get_data(as_text=True)
    assert HIDDEN_ORG not in outcome_page and BROKER_ONLY_TITLE not in outcome_page


def test_no_hidden_name_in_any_page_an_outsider_can_reach(client, confidential):
    """Crawl the links of the public pages as another enterprise: the hidden name never shows."""
    world, _desensitized, _broker_only = confidential
    sign_in(client, world.users["enterprise_other"])
    seen, queue = set(), ["/", "/demands", "/outcomes", "/dashboard", "/notices"]
    while queue and len(seen) < 60:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        if response.status_code != 200 or "html" not in response.content_type:
            continue
        html = response.get_data(as_text=True)
        assert HIDDEN_ORG not in html and BROKER_ONLY_TITLE not in html, path
        for link in re.findall(r'href="(/(?:demands|outcomes|notices)[^"?#]*)"', html):
            queue.append(link)
    assert any(p.startswith("/demands/") for p in seen)
