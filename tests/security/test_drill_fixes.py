"""Regression tests for the security drill of issue 20: each test failed before its fix."""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter

from market.redirects import safe_target
from models import Organization, User, db


@pytest.fixture(autouse=True)
def _user_per_request(app):
    """The test's app context outlives requests, and Flask-Login caches the user on ``g``:
    forget it at each request so every client is judged by its own cookies, as in production."""
    from flask import g, request_started

    def forget(_sender, **_extra):
        g.pop("_login_user", None)

    request_started.connect(forget, app)
    yield
    request_started.disconnect(forget, app)


@pytest.fixture
def member(create_user, enterprise):
    return create_user("member@example.cn", "enterprise", enterprise)


# ---- 1. open redirect after login ---------------------------------------------------------------

HOSTILE_NEXT = [
    "/%09/evil.example/path",
    "/%0A/evil.example",
    "/%0D%0A/evil.example",
    "//evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "%20//evil.example",
    "evil.example",
    "/%00/evil.example",
]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_login_never_redirects_off_site(client, auth, member, target):
    response = client.post(
        f"/auth/login?next={target}",
        data={"email": member.email, "password": "correct-horse-1"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_follows_a_local_next(client, member):
    response = client.post(
        "/auth/login?next=/demands%3Fpage%3D2",
        data={"email": member.email, "password": "correct-horse-1"},
    )
    assert response.headers["Location"] == "/demands?page=2"


@pytest.mark.parametrize(
    "target",
    ["/\t/evil", "/\n/evil", "//evil", "/\\evil", "http:/evil", "https://x", " /x", "/x\u3000"],
)
def test_safe_target_refuses(target):
    assert safe_target(target) is None


# ---- 2. /lang/<code> follows only this site's Referer ----------------------------------------


def test_language_switch_ignores_a_foreign_referer(client):
    response = client.get("/lang/en", headers={"Referer": "https://evil.example/phish"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_language_switch_ignores_a_protocol_relative_trick(client):
    response = client.get("/lang/en", headers={"Referer": "http://localhost//evil.example/x"})
    assert response.headers["Location"] == "/"


def test_language_switch_returns_to_the_page_it_came_from(client):
    response = client.get("/lang/en", headers={"Referer": "http://localhost/demands?q=1"})
    assert response.headers["Location"] == "/demands?q=1"


# ---- 4. API writes authenticate before they read the body ------------------------------------

# Writes the API deliberately takes without a token: an objection to a 公示 (anyone may object).
PUBLIC_WRITES = {"api_deals.file_objection"}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def api_writes(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) of every API write, with 1 for each path argument."""
    rows = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint in PUBLIC_WRITES:
            continue
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<int:{name}>", "1").replace(f"<{name}>", "1")
        for method in sorted(rule.methods & set(WRITE_METHODS)):
            rows.append((rule.endpoint, method, url))
    return rows


BODIES = [None, {}, {"changes": "x"}, {"changes": {"条款": 1}}, [], "x", {"name": None}]


def test_every_api_write_without_a_token_is_401_whatever_the_body(app, client):
    writes = api_writes(app)
    assert len(writes) >= 10
    for endpoint, method, url in writes:
        for body in BODIES:
            kwargs = {} if body is None else {"json": body}
            response = client.open(url, method=method, **kwargs)
            assert response.status_code == 401, (endpoint, method, url, body, response.json)
            assert response.json["code"] == "unauthorized"


def test_termsheet_patch_with_a_bad_body_and_no_token_is_401(client):
    response = client.patch("/api/v1/termsheets/1", json={"changes": "x"})
    assert response.status_code == 401


def test_termsheet_patch_with_a_bad_body_says_what_is_wrong(client, with_tokens):
    headers = {"Authorization": f"Bearer {with_tokens.tokens['broker']}"}
    response = client.patch("/api/v1/termsheets/1", json={"changes": "x"}, headers=headers)
    assert response.status_code == 422
    assert "条款名: 新值" in response.json["errors"]["changes"][0]  # what an object of changes is


def test_api_error_messages_are_valid_format_templates():
    """marshmallow formats every error message: a literal brace must be doubled."""
    from string import Formatter

    from marshmallow import Schema

    from market.api import schemas

    known = {"input", "max", "min", "choices", "labels", "other", "equal", "precision"}
    for schema_class in vars(schemas).values():
        if not (isinstance(schema_class, type) and issubclass(schema_class, Schema)):
            continue
        for name, field in schema_class().fields.items():
            messages = list(field.error_messages.values())
            messages += [getattr(v, "error", None) for v in field.validators]
            for message in filter(None, messages):
                if not isinstance(message, str) or message.isascii():
                    continue  # marshmallow's own English messages name their own fields
                used = {part[1] for part in Formatter().parse(message) if part[1] is not None}
                assert used <= known, (schema_class.__name__, name, message)


def test_a_public_objection_still_needs_no_token(client):
    response = client.post("/api/v1/notices/1/objections", json={})
    assert response.status_code in (404, 422)


def test_token_management_still_accepts_the_session(client, world):
    from tests.security.conftest import sign_in

    sign_in(client, world.users["broker"])
    response = client.post("/api/v1/tokens", json={"name": "脚本"})
    assert response.status_code == 201


# ---- 5. huge numbers in URLs are a 404, not an overflow ---------------------------------------

HUGE = ["99999999999999999999999", str(2**63), str(2**31)]


def int_rules(app):
    for rule in app.url_map.iter_rules():
        if any(isinstance(c, IntegerConverter) for c in rule._converters.values()):
            yield rule


def filled(rule, number: str) -> str:
    """The rule's URL with ``number`` for its ids and "x" for any other argument."""
    values = {
        name: number if isinstance(converter, IntegerConverter) else "x"
        for name, converter in rule._converters.items()
    }
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values[m[1]], rule.rule)


def method_of(rule) -> str:
    return "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS", "HEAD"})[0]


@pytest.mark.parametrize("role", ["anonymous", "enterprise", "institution", "broker", "admin"])
def test_every_id_route_answers_404_for_a_huge_id(app, client, world, role):
    from tests.security.conftest import sign_in

    sign_in(client, world.users[role])
    rules = list(int_rules(app))
    assert len(rules) > 40
    for rule in rules:
        for number in HUGE:
            url = filled(rule, number)
            response = client.open(url, method=method_of(rule))
            assert response.status_code in (302, 404), (role, url, response.status_code)
            if response.status_code == 302:
                assert "/auth/login" in response.headers["Location"], url


LISTS = ["/demands", "/outcomes", "/notices/", "/cases", "/broker/", "/admin/cases", "/admin/audit"]


@pytest.mark.parametrize("role", ["anonymous", "broker", "admin"])
@pytest.mark.parametrize("page", HUGE + ["-5", "abc", "1e9"])
def test_huge_page_numbers_are_clamped(app, client, world, role, page):
    from tests.security.conftest import sign_in

    sign_in(client, world.users[role])
    for url in LISTS:
        response = client.get(f"{url}?page={page}")
        assert response.status_code in (200, 302, 403, 404), (url, response.status_code)


def test_page_number_is_bounded():
    from market.urls import MAX_PAGE, page_number

    assert page_number("99999999999999999999999") == MAX_PAGE
    assert page_number("-1") == 1
    assert page_number(None) == 1
    assert page_number("7") == 7


# ---- 3. logout, "log out everywhere" and a new password end every copy of a session ----------


@pytest.fixture
def broker_user(create_user):
    user = create_user("broker-s@example.cn", "broker")
    db.session.commit()
    return user


def login(client, email, remember=False):
    data = {"email": email, "password": "correct-horse-1"}
    if remember:
        data["remember"] = "y"
    response = client.post("/auth/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def copy_cookies(source, target) -> None:
    """Give ``target`` the cookies ``source`` holds now (an attacker's captured copy)."""
    for cookie in source._cookies.values():
        target.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)


def test_a_captured_session_cookie_dies_at_logout(app, client, broker_user):
    login(client, broker_user.email)
    thief = app.test_client()
    copy_cookies(client, thief)
    assert thief.get("/broker/").status_code == 200
    client.post("/auth/logout")
    assert thief.get("/broker/").status_code == 302


def test_a_captured_remember_cookie_dies_at_logout(app, client, broker_user):
    login(client, broker_user.email, remember=True)
    thief = app.test_client()
    remember = client.get_cookie("remember_token")
    assert remember is not None
    thief.set_cookie("remember_token", remember.value)
    assert thief.get("/broker/").status_code == 200  # the cookie alone signs in
    client.post("/auth/logout")
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember.value)
    assert fresh.get("/broker/").status_code == 302


def test_remember_cookie_lasts_two_weeks_at_most(app, client, broker_user):
    login(client, broker_user.email, remember=True)
    cookie = client.get_cookie("remember_token")
    assert cookie.expires is not None
    from datetime import UTC, datetime, timedelta

    assert cookie.expires - datetime.now(UTC) <= timedelta(days=15)
    assert cookie.http_only


def test_log_out_everywhere_ends_other_sessions(app, client, broker_user):
    login(client, broker_user.email)
    other = app.test_client()
    login(other, broker_user.email)
    page = client.get("/accounts/profile")
    assert "退出所有设备" in page.get_data(as_text=True)
    response = client.post("/accounts/sessions/end")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
    assert other.get("/broker/").status_code == 302
    assert client.get("/broker/").status_code == 302


def test_password_change_ends_other_sessions_but_keeps_this_one(app, client, broker_user):
    login(client, broker_user.email)
    other = app.test_client()
    login(other, broker_user.email)
    response = client.post(
        "/accounts/password",
        data={
            "pw-current_password": "correct-horse-1",
            "pw-new_password": "Violet-lantern-harbour-42",
            "pw-confirm": "Violet-lantern-harbour-42",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert other.get("/broker/").status_code == 302
    assert client.get("/broker/").status_code == 200


def test_password_reset_ends_sessions(app, client, broker_user):
    from market.services import accounts

    login(client, broker_user.email)
    token = accounts.make_reset_token(broker_user)
    response = app.test_client().post(
        f"/accounts/reset/{token}",
        data={"password": "Violet-lantern-harbour-42", "confirm": "Violet-lantern-harbour-42"},
    )
    assert response.status_code == 302
    assert client.get("/broker/").status_code == 302


def test_a_bare_user_id_from_before_generations_signs_nobody_in(client, broker_user):
    with client.session_transaction() as session:
        session["_user_id"] = str(broker_user.id)
    assert client.get("/broker/").status_code == 302


def test_api_tokens_survive_logout_everywhere(app, client, broker_user):
    from market.api.auth import issue_token

    _token, plain = issue_token(broker_user, "脚本")
    db.session.commit()
    login(client, broker_user.email)
    client.post("/accounts/sessions/end")
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200


# ---- 6. no probing for accounts: same work for known and unknown addresses, per-address backoff


@pytest.fixture
def hash_checks(monkeypatch):
    """Counts password-hash verifications (the slow part of a sign-in)."""
    import models.accounts

    calls = []
    real = models.accounts.check_password_hash

    def counted(pwhash, password):
        calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(models.accounts, "check_password_hash", counted)
    return calls


def test_unknown_and_known_addresses_both_verify_a_hash(client, member, hash_checks):
    client.post("/auth/login", data={"email": member.email, "password": "wrong-password-1"})
    assert len(hash_checks) == 1
    client.post("/auth/login", data={"email": "nobody@example.cn", "password": "wrong-pass-1"})
    assert len(hash_checks) == 2
    assert hash_checks[1].startswith("scrypt:")  # as costly as a real account's hash


def test_inactive_account_verifies_a_hash_too(client, member, hash_checks):
    member.active = False
    db.session.commit()
    response = client.post("/auth/login", data={"email": member.email, "password": "x-wrong-1"})
    assert "邮箱或密码不正确" in response.get_data(as_text=True)
    assert len(hash_checks) == 1


def test_account_backs_off_after_failures_from_many_addresses(app, member):
    from market.services.accounts import FREE_FAILURES

    for attempt in range(FREE_FAILURES):
        client = app.test_client()  # a fresh client and address each time
        response = client.post(
            "/auth/login",
            data={"email": member.email.upper(), "password": f"guess-{attempt}"},
            environ_base={"REMOTE_ADDR": f"203.0.113.{attempt + 1}"},
        )
        assert response.status_code == 200
    response = app.test_client().post(
        "/auth/login",
        data={"email": member.email, "password": "correct-horse-1"},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert response.status_code == 429
    assert "登录失败次数过多，请在30秒后再试" in response.get_data(as_text=True)


def test_a_blocked_address_is_refused_even_with_the_right_password(app, member):
    from datetime import timedelta

    from market.services import accounts
    from models import LoginThrottle, utcnow

    now = utcnow()
    for _attempt in range(accounts.FREE_FAILURES):
        with pytest.raises(accounts.SignInRefused):
            accounts.sign_in(member.email, "wrong-guess-1", now=now)
    row = db.session.scalar(db.select(LoginThrottle))
    with pytest.raises(accounts.SignInThrottled):
        accounts.sign_in(member.email, "correct-horse-1", now=row.blocked_until - timedelta(1))
    # a quiet hour forgets the failures
    later = now + accounts.FAILURES_FORGOTTEN_AFTER + timedelta(minutes=1)
    with pytest.raises(accounts.SignInRefused):
        accounts.sign_in(member.email, "wrong-guess-1", now=later)
    assert row.failures == 1


def test_backoff_grows_exponentially_and_is_capped(app, member):
    from datetime import timedelta

    from market.services import accounts
    from models import LoginThrottle, utcnow

    now = utcnow()
    waits = []
    for _attempt in range(accounts.FREE_FAILURES + 8):
        with pytest.raises(accounts.SignInRefused):
            accounts.sign_in(member.email, "wrong-guess-1", now=now)
        row = db.session.scalar(db.select(LoginThrottle))
        if row.blocked_until:
            waits.append(row.blocked_until - now)
            now = row.blocked_until
        else:
            now += timedelta(seconds=1)
    assert waits[:3] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    assert max(waits) == accounts.BACKOFF_MAX
    accounts.sign_in(member.email, "correct-horse-1", now=now)
    assert db.session.scalar(db.select(LoginThrottle)) is None


def test_unknown_addresses_back_off_the_same_way(app):
    from market.services import accounts

    for _attempt in range(accounts.FREE_FAILURES):
        with pytest.raises(accounts.SignInRefused):
            accounts.sign_in("nobody@example.cn", "wrong-guess-1")
    with pytest.raises(accounts.SignInThrottled):
        accounts.sign_in("nobody@example.cn", "wrong-guess-1")


REGISTRATION = {
    "org_name": "珠海探针测试有限公司",
    "kind": "enterprise",
    "province": "广东省",
    "city": "珠海市",
    "name": "王工",
    "email": "member@example.cn",
    "password": "Violet-lantern-harbour-42",
    "confirm": "Violet-lantern-harbour-42",
}


def test_registration_does_not_reveal_a_registered_address(client, member, caplog):
    taken = client.post("/accounts/register", data=REGISTRATION)
    fresh = client.post(
        "/accounts/register",
        data={**REGISTRATION, "email": "new@example.cn", "org_name": "珠海另一测试有限公司"},
    )
    assert taken.status_code == fresh.status_code == 302
    assert taken.headers["Location"] == fresh.headers["Location"]
    follow = client.get(taken.headers["Location"]).get_data(as_text=True)
    assert "已注册" not in follow.replace("如果该邮箱此前已注册过账号", "")
    assert "注册申请已提交" in follow
    assert (
        db.session.scalar(
            db.select(db.func.count())
            .select_from(Organization)
            .where(Organization.name == REGISTRATION["org_name"])
        )
        == 0
    )
    assert member.organization.name != REGISTRATION["org_name"]
    assert any("registration attempted" in r.getMessage() for r in caplog.records)


# ---- 7. weak passwords are refused -------------------------------------------------------------

WEAK = ["12345678", "password", "aaaaaaaa", "qwertyuiop", "weak@example.cn", "P@ssw0rd!"]


@pytest.mark.parametrize("weak", WEAK)
def test_registration_refuses_a_weak_password(client, weak):
    data = {**REGISTRATION, "email": "weak@example.cn", "password": weak, "confirm": weak}
    response = client.post("/accounts/register", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'data-field-error="password">密码强度不足', html), html[-3000:]


def test_registration_refuses_the_users_own_name_and_address(client):
    data = {**REGISTRATION, "email": "zhangsanfeng@example.cn", "name": "zhangsanfeng"}
    data["password"] = data["confirm"] = "zhangsanfeng2024"
    html = client.post("/accounts/register", data=data).get_data(as_text=True)
    assert "不能包含您的邮箱、姓名" in html


def test_password_change_refuses_a_weak_password(client, member):
    login(client, member.email)
    response = client.post(
        "/accounts/password",
        data={
            "pw-current_password": "correct-horse-1",
            "pw-new_password": "password",
            "pw-confirm": "password",
        },
    )
    assert response.status_code == 422
    assert re.search(
        r'data-field-error="pw-new_password">密码强度不足', response.get_data(as_text=True)
    )


def test_password_reset_refuses_a_weak_password(app, client, member):
    from market.services import accounts

    token = accounts.make_reset_token(member)
    response = client.post(
        f"/accounts/reset/{token}", data={"password": "12345678", "confirm": "12345678"}
    )
    assert re.search(r'data-field-error="password">密码强度不足', response.get_data(as_text=True))


def test_weak_password_message_is_translated(client):
    client.get("/lang/en")
    data = {
        **REGISTRATION,
        "email": "weak@example.cn",
        "password": "password",
        "confirm": "password",
    }
    html = client.post("/accounts/register", data=data).get_data(as_text=True)
    assert "Password too weak" in html


# ---- 8. edit forms change publication state only when asked -----------------------------------


def test_a_bare_post_to_the_demand_form_saves_nothing(client, world):
    from tests.security.conftest import sign_in

    demand = world.demand(world.orgs["enterprise_a"], status="published")
    db.session.commit()
    sign_in(client, world.users["enterprise"])
    response = client.post(f"/workspace/enterprise/demands/{demand.id}/edit", data={})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-field-error="title"' in html
    db.session.refresh(demand)
    assert demand.status == "published"


def test_a_full_demand_form_without_an_action_saves_nothing(client, world):
    from tests.security.conftest import sign_in

    demand = world.demand(world.orgs["enterprise_a"], status="published")
    db.session.commit()
    sign_in(client, world.users["enterprise"])
    form = {
        "title": demand.title,
        "description": demand.description,
        "field": demand.field,
        "scenario_type": "industry",
        "confidentiality": "public",
    }
    response = client.post(f"/workspace/enterprise/demands/{demand.id}/edit", data=form)
    assert response.status_code == 422
    assert "保存草稿" in response.get_data(as_text=True)
    db.session.refresh(demand)
    assert demand.status == "published"
    response = client.post(
        f"/workspace/enterprise/demands/{demand.id}/edit", data={**form, "action": "draft"}
    )
    assert response.status_code == 302
    db.session.refresh(demand)
    assert demand.status == "draft"  # asked for explicitly


def test_a_bare_post_to_the_outcome_form_saves_nothing(client, world):
    from tests.security.conftest import sign_in

    outcome = world.outcome(world.orgs["university_a"], status="published")
    db.session.commit()
    sign_in(client, world.users["institution"])
    response = client.post(f"/workspace/institution/outcomes/{outcome.id}/edit", data={})
    assert response.status_code == 422
    assert 'data-field-error="title"' in response.get_data(as_text=True)
    db.session.refresh(outcome)
    assert outcome.status == "published"


# ---- 9. the OpenAPI document says what the API does --------------------------------------------


def test_every_405_carries_allow(app, client):
    """TRACE (or any method a route lacks) answers 405 with the methods it does take."""
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "TRACE" in rule.methods:
            continue
        url = filled(rule, "1")
        response = client.open(url, method="TRACE")
        if response.status_code != 405:
            continue  # another rule matched the same URL (e.g. a <path> catch-all)
        allowed = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
        assert rule.methods - {"HEAD", "OPTIONS"} <= allowed, (url, response.headers)
        checked += 1
    assert checked > 100


def test_a_405_from_the_api_is_json_with_allow(client):
    response = client.open("/api/v1/termsheets/1", method="TRACE")
    assert response.status_code == 405
    assert response.json["code"] == "method_not_allowed"
    assert {"GET", "PATCH"} <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_match_components_are_an_object_with_numbers_or_null(client, with_tokens):
    from models import Match

    world = with_tokens
    match = world.match(world.orgs["enterprise_b"], world.orgs["university_b"])
    match.components = None
    match.explanation = None
    older = world.match(world.orgs["enterprise_b"], world.orgs["university_b"])
    older.components = {"dense": None, "lexical": 0.4, "fused": 0.2}
    db.session.commit()
    headers = {"Authorization": f"Bearer {world.tokens['broker']}"}
    spec = client.get("/api/v1/openapi.json").json
    declared = spec["components"]["schemas"]["MatchDetailOut"]
    assert "components" in declared["required"] and "explanation" in declared["required"]
    assert declared["properties"]["components"]["additionalProperties"]["nullable"] is True
    first = client.get(f"/api/v1/matches/{match.id}", headers=headers).json
    assert first["components"] == {} and first["explanation"] == {}
    second = client.get(f"/api/v1/matches/{older.id}", headers=headers).json
    assert second["components"]["dense"] is None
    assert db.session.get(Match, match.id).components is None  # nothing rewritten


def test_enforced_constraints_are_declared(app, client):
    from market.api import schemas

    spec = client.get("/api/v1/openapi.json").json
    declared = spec["components"]["schemas"]
    # Text the API refuses for NUL or lone surrogates says so with a pattern.
    for name in ("DemandIn", "DemandPatch", "OutcomeIn", "TokenIn", "TermSheetIn"):
        for prop, field in declared[name]["properties"].items():
            if field.get("type") == "string" and not {"enum", "format"} & set(field):
                assert field.get("pattern") == schemas.TEXT_PATTERN, (name, prop)
    budget = declared["DemandIn"]["properties"]["budget_min_fen"]["description"]
    assert "不得高于预算上限" in budget
    assert "中文" in declared["DemandIn"]["properties"]["description"]["description"]
    # Writes say which credentials they need, as authentication enforces it.
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method.upper() not in WRITE_METHODS:
                continue
            security = operation.get("security")
            if path.endswith("/objections"):
                assert security == [{}], path
            elif path.startswith("/api/v1/tokens"):
                assert {"browserSession": []} in security, path
            else:
                assert security == [{"bearerAuth": []}], (path, method)
            assert "401" in operation["responses"] or path.endswith("/objections"), path


# ---- 10. a Redis outage does not take the site down; /healthz says what is up -----------------

CLOSED_REDIS = "redis://127.0.0.1:6399/0"  # nothing listens there


def make_app(app_config, tmp_path, **overrides):
    from market import create_app

    config = {
        **app_config,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'other.db'}",
        "INDEX_DIR": str(tmp_path / "index"),
        **overrides,
    }
    built = create_app(config)
    with built.app_context():
        db.create_all()
    return built


def celery_config(tmp_path, broker_url: str) -> dict:
    """The default (eager) task settings with a Redis broker URL, as production sets it."""
    from market.config import defaults

    return {**defaults(str(tmp_path))["CELERY"], "broker_url": broker_url}


@pytest.fixture
def redis_down_app(app_config, tmp_path):
    built = make_app(
        app_config, tmp_path, RATELIMIT_STORAGE_URI=CLOSED_REDIS, RATE_LIMITS_ENABLED=True
    )
    with built.app_context():
        org = Organization(name="断线测试企业", kind="enterprise", province="广东省", city="珠海市")
        user = User(email="calm@example.cn", name="calm", role="enterprise", organization=org)
        user.set_password("correct-horse-1")
        db.session.add_all([org, user])
        db.session.commit()
    yield built
    with built.app_context():
        db.session.remove()
        db.engine.dispose()


def test_login_and_api_answer_while_the_limiter_storage_is_down(redis_down_app):
    client = redis_down_app.test_client()
    response = client.post(
        "/auth/login", data={"email": "calm@example.cn", "password": "correct-horse-1"}
    )
    assert response.status_code == 302
    assert client.get("/api/v1/demands").status_code == 200
    assert client.get("/api/v1/demands").status_code == 200  # and on the fallback storage


def test_limits_still_apply_on_the_in_memory_fallback(redis_down_app):
    redis_down_app.config["API_RATE_LIMIT"] = "2 per minute"
    client = redis_down_app.test_client()
    codes = [client.get("/api/v1/demands").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_healthz_reports_each_part(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json
    assert body["database"] == {"status": "ok"}
    assert body["redis"] == {"status": "not_configured"}
    assert body["worker"] == {"status": "in_process"}
    assert body["index"]["status"] in ("ok", "catching_up")
    assert {"demand", "outcome"} <= set(body["index"])


def test_healthz_with_redis_down_is_degraded_not_down(app_config, tmp_path):
    built = make_app(app_config, tmp_path, CELERY=celery_config(tmp_path, CLOSED_REDIS))
    response = built.test_client().get("/healthz")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "degraded"
    assert body["redis"]["status"] == "down"
    assert body["worker"] == {"status": "unknown", "reason": "redis_down"}
    assert body["database"] == {"status": "ok"}


def test_healthz_is_503_when_the_database_is_down(app_config, tmp_path):
    from market import create_app

    built = create_app(
        {**app_config, "SQLALCHEMY_DATABASE_URI": "sqlite:////nonexistent-dir/none.db"}
    )
    response = built.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "down"
    assert response.json["database"]["status"] == "down"
    assert response.json["index"] == {"status": "unknown"}


def test_healthz_reads_the_worker_heartbeat(app_config, tmp_path):
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/11"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    from market import health

    built = make_app(app_config, tmp_path, CELERY=celery_config(tmp_path, url))
    redis.Redis.from_url(url).delete(health.HEARTBEAT_KEY)
    assert built.test_client().get("/healthz").json["worker"]["reason"] == "no_heartbeat"
    health.record_heartbeat(built.config)
    worker = built.test_client().get("/healthz").json["worker"]
    assert worker["status"] == "ok" and worker["last_seen_s"] < 5
    redis.Redis.from_url(url).delete(health.HEARTBEAT_KEY)


def test_a_session_write_checks_csrf_before_the_body(app, client, world, monkeypatch):
    from tests.security.conftest import sign_in

    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    sign_in(client, world.users["broker"])
    response = client.post("/api/v1/tokens", json={"unexpected": "x"})
    assert response.status_code == 400
    assert "errors" not in response.json  # refused for the missing CSRF token, body unread


def test_quiet_failure_counts_are_forgotten(app):
    from datetime import timedelta

    from market.services import accounts
    from models import LoginThrottle, utcnow

    now = utcnow()
    with pytest.raises(accounts.SignInRefused):
        accounts.sign_in("old@example.cn", "wrong-guess-1", now=now - timedelta(days=2))
    for _attempt in range(accounts.FREE_FAILURES):
        with pytest.raises(accounts.SignInRefused):
            accounts.sign_in("recent@example.cn", "wrong-guess-1", now=now)
    assert accounts.forget_sign_in_failures(now) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(LoginThrottle)) == 1
    assert "forget-sign-in-failures" in app.config["CELERY"]["beat_schedule"]
