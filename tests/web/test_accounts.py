"""Registration, organisation review, password reset and profile."""

from __future__ import annotations

import logging
import re
import time

from itsdangerous import TimestampSigner
from sqlalchemy import select

from market.services import accounts
from models import AuditLog, Organization, User, db

from .conftest import page

REGISTRATION = {
    "org_name": "珠海示例精密制造有限公司",
    "kind": "enterprise",
    "province": "广东省",
    "city": "珠海市",
    "is_sme": "y",
    "name": "李工",
    "email": "li@example.com",
    "password": "a-long-password",
    "confirm": "a-long-password",
}
DEMAND = {
    "title": "注塑件表面缺陷自动检测",
    "description": "目前两条注塑产线每天生产约2万件外壳，由6名质检员目检，漏检率约3%。",
    "field": "智能制造",
    "scenario_type": "industry",
    "confidentiality": "public",
    "action": "draft",
}


def test_registration_waits_for_approval_then_user_can_post(client, auth, admin_user):
    response = client.post("/accounts/register", data=REGISTRATION, follow_redirects=True)
    assert "注册申请已提交" in page(response)
    auth.login(REGISTRATION["email"], REGISTRATION["password"])
    assert "等待运营人员审核" in page(client.get("/accounts/profile"))
    org = db.session.scalar(
        select(Organization).where(Organization.name == REGISTRATION["org_name"])
    )
    user = db.session.scalar(select(User).where(User.email == "li@example.com"))
    assert (org.approved, org.kind, org.is_sme, org.city) == (False, "enterprise", True, "珠海市")
    assert user.role == "enterprise" and user.organization_id == org.id

    refused = client.get("/workspace/enterprise/demands/new")
    assert refused.status_code == 403 and "没有权限" in page(refused)
    assert "正在审核中" in page(client.get("/workspace/enterprise/"))

    auth.logout()
    auth.login(admin_user.email)
    queue = page(client.get("/accounts/admin/organizations"))
    assert REGISTRATION["org_name"] in queue and "li@example.com" in queue
    response = client.post(f"/accounts/admin/organizations/{org.id}/approve", follow_redirects=True)
    assert "已通过“珠海示例精密制造有限公司”的审核" in page(response)
    assert "目前没有待审核的机构" in page(response)
    logged = db.session.scalar(select(AuditLog).where(AuditLog.action == "org.approve"))
    assert logged.object_id == org.id and logged.user_id == admin_user.id

    auth.logout()
    auth.login("li@example.com", "a-long-password")
    response = client.post("/workspace/enterprise/demands/new", data=DEMAND, follow_redirects=True)
    assert "已保存为草稿" in page(response) and DEMAND["title"] in page(response)


def test_role_follows_organisation_kind(client):
    for kind, email, role in [
        ("university", "a@uni.edu.cn", "institution"),
        ("hospital", "b@hospital.cn", "institution"),
        ("service", "c@broker.cn", "broker"),
    ]:
        data = {**REGISTRATION, "org_name": f"机构{kind}", "kind": kind, "email": email}
        client.post("/accounts/register", data=data)
        client.post("/auth/logout")
        assert db.session.scalar(select(User.role).where(User.email == email)) == role


def test_registration_errors_are_shown_next_to_fields_with_values_kept(client, enterprise):
    data = {
        **REGISTRATION,
        "org_name": enterprise.name,
        "confirm": "something-else",
        "email": "not-an-email",
    }
    response = client.post("/accounts/register", data=data)
    html = page(response)
    assert response.status_code == 200
    assert re.search(r'data-field-error="confirm">两次输入的密码不一致<', html)
    assert re.search(r'data-field-error="email">电子邮箱格式不正确<', html)
    assert 'value="not-an-email"' in html and 'value="珠海市"' in html
    # the password itself is never echoed back
    assert "a-long-password" not in html

    response = client.post("/accounts/register", data={**REGISTRATION, "org_name": enterprise.name})
    assert re.search(r'data-field-error="org_name">该机构名称已注册', page(response))
    assert db.session.scalar(select(User).where(User.email == "li@example.com")) is None


def test_rejected_organisation_leaves_queue_and_cannot_sign_in(client, auth, admin_user):
    client.post("/accounts/register", data=REGISTRATION)
    auth.logout()
    auth.login(admin_user.email)
    org = db.session.scalar(
        select(Organization).where(Organization.name == REGISTRATION["org_name"])
    )
    response = client.post(
        f"/accounts/admin/organizations/{org.id}/reject",
        data={"reason": "营业执照信息无法核实"},
        follow_redirects=True,
    )
    assert (
        "已拒绝" in page(response)
        and REGISTRATION["org_name"] not in page(response).split("</h1>")[1]
    )
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "org.reject"))
    assert entry.after["reason"] == "营业执照信息无法核实"
    auth.logout()
    response = auth.login("li@example.com", "a-long-password")
    assert "邮箱或密码不正确" in page(response)


def test_only_admins_review_organisations(client, auth, enterprise_user, enterprise):
    auth.login(enterprise_user.email)
    response = client.get("/accounts/admin/organizations")
    assert response.status_code == 403 and "没有权限" in page(response)
    response = client.post(f"/accounts/admin/organizations/{enterprise.id}/reject")
    assert response.status_code == 403
    assert enterprise_user.active


def _reset_link(caplog) -> str:
    links = [r.getMessage() for r in caplog.records if "/accounts/reset/" in r.getMessage()]
    assert len(links) == 1 and caplog.records[-1].levelno == logging.WARNING
    return "/accounts/reset/" + links[0].rsplit("/accounts/reset/", 1)[1]


def test_password_reset_link_goes_to_log_only_and_works_once(client, auth, enterprise_user, caplog):
    caplog.set_level(logging.INFO, logger="market.services.accounts")
    response = client.post(
        "/accounts/reset", data={"email": enterprise_user.email}, follow_redirects=True
    )
    assert "重置密码的链接已发出" in page(response)
    link = _reset_link(caplog)
    assert link not in page(response)

    response = client.post(
        link,
        data={"password": "brand-new-pass", "confirm": "brand-new-pass"},
        follow_redirects=True,
    )
    assert "密码已重置" in page(response)
    assert "邮箱或密码不正确" in page(auth.login(enterprise_user.email, "correct-horse-1"))
    response = auth.login(enterprise_user.email, "brand-new-pass")
    assert response.status_code == 302
    # the password changed, so the same link no longer works
    again = client.get(link)
    assert again.status_code == 400 and "已使用" in page(again)


def test_unknown_email_gets_same_answer_and_no_link(client, caplog):
    caplog.set_level(logging.INFO, logger="market.services.accounts")
    response = client.post(
        "/accounts/reset", data={"email": "nobody@example.com"}, follow_redirects=True
    )
    assert "如果该邮箱已注册" in page(response)
    assert not any("/accounts/reset/" in r.getMessage() for r in caplog.records)


def test_expired_and_tampered_reset_links_are_refused(app, client, enterprise_user, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 3601)
        old = accounts.make_reset_token(enterprise_user)
    response = client.get(f"/accounts/reset/{old}")
    assert response.status_code == 400 and "已过期" in page(response)

    fresh = accounts.make_reset_token(enterprise_user)
    assert client.get(f"/accounts/reset/{fresh}").status_code == 200
    tampered = fresh[:-3] + ("AAA" if not fresh.endswith("AAA") else "BBB")
    response = client.get(f"/accounts/reset/{tampered}")
    assert response.status_code == 400 and "重置链接无效" in page(response)
    response = client.post(
        f"/accounts/reset/{tampered}", data={"password": "x" * 10, "confirm": "x" * 10}
    )
    assert response.status_code == 400
    assert enterprise_user.check_password("correct-horse-1")


def test_profile_changes_name_and_password(client, auth, enterprise_user):
    auth.login(enterprise_user.email)
    response = client.post(
        "/accounts/profile", data={"profile-name": "王经理"}, follow_redirects=True
    )
    assert "资料已保存" in page(response) and "王经理" in page(response)

    response = client.post(
        "/accounts/password",
        data={
            "pw-current_password": "wrong-one",
            "pw-new_password": "another-pass-1",
            "pw-confirm": "another-pass-1",
        },
    )
    assert response.status_code == 422
    assert re.search(r'data-field-error="pw-current_password">当前密码不正确', page(response))

    response = client.post(
        "/accounts/password",
        data={
            "pw-current_password": "correct-horse-1",
            "pw-new_password": "another-pass-1",
            "pw-confirm": "another-pass-1",
        },
        follow_redirects=True,
    )
    assert "密码已修改" in page(response)
    db.session.refresh(enterprise_user)
    assert enterprise_user.check_password("another-pass-1") and enterprise_user.name == "王经理"


def test_profile_needs_sign_in(client):
    response = client.get("/accounts/profile")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_csrf_is_enforced_when_enabled(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = client.post("/accounts/register", data=REGISTRATION)
    assert response.status_code == 400 and "请求有误" in page(response)
    assert db.session.scalar(select(User).where(User.email == "li@example.com")) is None

    form = page(client.get("/accounts/register"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    response = client.post("/accounts/register", data={**REGISTRATION, "csrf_token": token})
    assert response.status_code == 302
    assert db.session.scalar(select(User).where(User.email == "li@example.com")) is not None


def test_state_owned_enterprise_declared_then_confirmed_at_approval(client, auth, admin_user):
    data = {**REGISTRATION, "org_name": "珠海示例国有控股集团有限公司", "state_owned": "y"}
    client.post("/accounts/register", data=data)
    soe = db.session.scalar(select(Organization).where(Organization.name == data["org_name"]))
    lab = {**REGISTRATION, "org_name": "示例研究院", "kind": "institute", "state_owned": "y"}
    client.post("/accounts/register", data={**lab, "email": "lab@example.com"})
    institute = db.session.scalar(select(Organization).where(Organization.name == "示例研究院"))
    assert soe.state_owned and not institute.state_owned  # only enterprises are 国有企业

    auth.login(admin_user.email)
    queue = page(client.get("/accounts/admin/organizations"))
    assert 'data-testid="state-owned"' in queue
    assert f'id="state-owned-{soe.id}" checked' in queue
    assert f'id="state-owned-{institute.id}"' not in queue
    client.post(f"/accounts/admin/organizations/{soe.id}/approve", data={"state_owned": "y"})
    assert soe.approved and soe.owner_type_label == "国有企业"
    logged = db.session.scalar(select(AuditLog).where(AuditLog.action == "org.approve"))
    assert logged.after["state_owned"] is True


def test_reviewer_corrects_a_wrong_state_owned_claim(client, auth, admin_user):
    client.post("/accounts/register", data={**REGISTRATION, "state_owned": "y"})
    org = db.session.scalar(
        select(Organization).where(Organization.name == REGISTRATION["org_name"])
    )
    auth.login(admin_user.email)
    client.post(f"/accounts/admin/organizations/{org.id}/approve")
    assert org.approved and not org.state_owned
