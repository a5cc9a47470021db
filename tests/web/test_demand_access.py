"""分级保密, vetted → full: an institution asks to see who posted a 脱敏 demand under the
confidentiality undertaking; the owner grants, refuses or revokes; every step and every look
through a grant is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from market.services import demand_access
from market.services.listings import post_demand
from models import AuditLog, DemandAccess, Forbidden, ValidationError, db

from .conftest import page

PURPOSE = "本单位有钢结构裂纹检测成果，希望与发布方直接洽谈。"


@pytest.fixture
def masked(enterprise):
    demand = post_demand(
        enterprise,
        {
            "title": "港口起重机裂纹检测（脱敏）",
            "scenario_type": "industry",
            "description": "需要对港口起重机钢结构进行裂纹智能检测，检出率≥95%。",
            "confidentiality": "desensitized",
        },
    )
    db.session.commit()
    return demand


def actions() -> list[str]:
    return list(
        db.session.scalars(
            select(AuditLog.action)
            .where(AuditLog.action.like("demand_access.%"))
            .order_by(AuditLog.id)
        )
    )


def test_request_grant_view_revoke_end_to_end(
    client, auth, masked, enterprise, enterprise_user, institution_user
):
    auth.login(institution_user.email)
    html = page(client.get(f"/demands/{masked.id}"))
    assert "发布单位已脱敏" in html and enterprise.name not in html
    assert 'data-testid="access-form"' in html and "保密承诺" in html
    url = f"/workspace/institution/demands/{masked.id}/access"
    response = client.post(url, data={"purpose": PURPOSE})  # undertaking not accepted
    html = page(response)
    assert response.status_code == 422
    assert 'data-field-error="nda">请阅读并同意保密承诺后再申请' in html and PURPOSE in html
    assert db.session.scalar(select(DemandAccess)) is None
    response = client.post(url, data={"purpose": PURPOSE, "nda": "y"})
    assert response.status_code == 302
    html = page(client.get(f"/demands/{masked.id}"))
    assert "待发布方决定" in html and 'data-testid="access-form"' not in html
    assert enterprise.name not in html
    auth.logout()

    auth.login(enterprise_user.email)
    index = page(client.get("/workspace/enterprise/"))
    assert 'data-testid="access-pending"' in index and "有 1 家机构申请" in index
    html = page(client.get("/workspace/enterprise/access"))
    access = db.session.scalar(select(DemandAccess))
    assert PURPOSE in html and "已同意保密承诺（版本" in html
    response = client.post(f"/workspace/enterprise/access/{access.id}", data={"decision": "grant"})
    assert response.status_code == 302
    auth.logout()

    auth.login(institution_user.email)
    html = page(client.get(f"/demands/{masked.id}"))
    assert enterprise.name in html and "已授权查看" in html
    body = client.get(f"/api/v1/demands/{masked.id}").get_json()
    assert body["organization"] is not None
    auth.logout()

    auth.login(enterprise_user.email)
    client.post(f"/workspace/enterprise/access/{access.id}", data={"decision": "revoke"})
    auth.logout()
    auth.login(institution_user.email)
    html = page(client.get(f"/demands/{masked.id}"))
    assert enterprise.name not in html and "授权已撤销" in html
    assert 'data-testid="access-form"' in html  # may ask again
    assert actions() == [
        "demand_access.request",
        "demand_access.grant",
        "demand_access.view",  # the page
        "demand_access.view",  # the API
        "demand_access.revoke",
    ]


def test_refusal_needs_a_reason_and_reaches_the_requester(
    client, auth, masked, enterprise_user, institution_user
):
    access = demand_access.ask(masked, institution_user, PURPOSE, True)
    db.session.commit()
    auth.login(enterprise_user.email)
    url = f"/workspace/enterprise/access/{access.id}"
    response = client.post(url, data={"decision": "refuse"})
    assert response.status_code == 422
    assert "拒绝时请简要说明理由" in page(response)
    client.post(url, data={"decision": "refuse", f"a{access.id}-note": "暂不对外洽谈"})
    auth.logout()
    auth.login(institution_user.email)
    html = page(client.get(f"/demands/{masked.id}"))
    assert "发布方已拒绝" in html and "暂不对外洽谈" in html


def test_only_institutions_ask_and_only_the_owner_decides(
    masked, enterprise_user, institution_user, create_user, create_org, client, auth
):
    rival = create_user("rival@test.cn", "enterprise", create_org("别家企业"))
    with pytest.raises(Forbidden):
        demand_access.ask(masked, rival, PURPOSE, True)
    access = demand_access.ask(masked, institution_user, PURPOSE, True)
    with pytest.raises(ValidationError, match="已有申请"):
        demand_access.ask(masked, institution_user, PURPOSE, True)
    with pytest.raises(Forbidden):
        demand_access.decide(access, rival, "grant")
    with pytest.raises(Forbidden):
        demand_access.decide(access, institution_user, "grant")
    with pytest.raises(ValidationError, match="不能这样处理"):
        demand_access.decide(access, enterprise_user, "revoke")  # nothing granted yet
    db.session.commit()
    auth.login("rival@test.cn")
    assert client.post(f"/workspace/enterprise/access/{access.id}", data={}).status_code == 403


def test_public_demands_have_nothing_to_ask(client, auth, enterprise, institution_user):
    open_demand = post_demand(
        enterprise,
        {"title": "公开需求", "scenario_type": "industry", "description": "公开的需求描述。"},
    )
    db.session.commit()
    with pytest.raises(ValidationError, match="只有已发布的脱敏需求"):
        demand_access.ask(open_demand, institution_user, PURPOSE, True)
    auth.login(institution_user.email)
    assert 'data-testid="access-form"' not in page(client.get(f"/demands/{open_demand.id}"))
