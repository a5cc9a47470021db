"""Enterprise workspace: the guided 场景需求 form, the listing linter, ownership."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from market.services.lint import lint_demand
from market.services.listings import post_demand
from models import Demand, db, local_today

from .conftest import page

NEXT_YEAR = (local_today() + timedelta(days=365)).isoformat()
GOOD = {
    "title": "海上风电叶片无人机自主巡检",
    "description": (
        "我司运维珠海外海某海上风电场，共55台风机。目前依靠人员出海登机配合手动无人机拍摄，"
        "单台风机巡检约需3小时，年均可出海作业天数不足150天，叶片缺陷人工判读漏检率约8%。"
        "希望在升压站平台部署无人机机巢，实现全自主起降与边缘端缺陷识别。"
    ),
    "field": "低空经济",
    "scenario_type": "infrastructure",
    "industry_code": "4415",
    "offers": ["site", "data"],
    "offered_detail": "开放2台风机作为试点，提供约1.2万张已标注的历史图像。",
    "indicators-0-name": "续航时间",
    "indicators-0-op": ">=",
    "indicators-0-value": "45",
    "indicators-0-unit": "分钟",
    "indicators-1-name": "缺陷识别准确率",
    "indicators-1-op": ">=",
    "indicators-1-value": "92",
    "indicators-1-unit": "%",
    "indicators-2-name": "",
    "indicators-2-value": "",
    "budget_min": "150",
    "budget_max": "300",
    "cooperation_modes": ["joint_dev", "license"],
    "required_maturity": "pilot",
    "deadline": NEXT_YEAR,
    "confidentiality": "desensitized",
    "reward": "120",
    "challenge_deadline": NEXT_YEAR,
    "action": "publish",
}


def _only_demand() -> Demand:
    demands = db.session.scalars(select(Demand)).all()
    assert len(demands) == 1
    return demands[0]


def test_new_demand_form_has_three_indicator_rows_and_labels(client, auth, enterprise_user):
    auth.login(enterprise_user.email)
    html = page(client.get("/workspace/enterprise/demands/new"))
    for i in range(3):
        assert f'name="indicators-{i}-name"' in html and f'for="indicators-{i}-value"' in html
    assert 'name="indicators-3-name"' not in html
    assert "只有平台的技术经纪人能看到" in html  # plain-language help for each 公开范围
    assert "<script>" not in html and "onclick" not in html
    assert "/static/js/indicator_rows.js" in html
    for field in ("低空经济", "生物医药", "其他"):
        assert f'<option value="{field}">' in html


def test_publish_complete_demand_with_indicators(client, auth, enterprise_user, enterprise):
    auth.login(enterprise_user.email)
    response = client.post("/workspace/enterprise/demands/new", data=GOOD, follow_redirects=True)
    assert "需求已发布" in page(response)
    assert "系统为" in page(response)  # publishing lands on the demand's proposals page
    demand = _only_demand()
    assert demand.status == "published" and demand.organization_id == enterprise.id
    assert demand.indicators == [
        {"name": "续航时间", "op": ">=", "value": 45.0, "unit": "分钟"},
        {"name": "缺陷识别准确率", "op": ">=", "value": 92.0, "unit": "%"},
    ]
    assert (demand.budget_min_fen, demand.budget_max_fen) == (150 * 10**6, 300 * 10**6)
    assert demand.reward_fen == 120 * 10**6 and demand.is_challenge
    assert demand.cooperation_modes == ["joint_dev", "license"]
    assert demand.offered_resources.startswith("可提供：应用场地、数据\n开放2台风机")
    assert demand.confidentiality == "desensitized" and demand.industry_code == "4415"
    # enqueued after commit and run eagerly: the demand is in the search index
    assert demand.indexed_hash == demand.content_hash
    assert demand.match_summary is not None  # matched (inline under TESTING)
    listed = page(client.get("/workspace/enterprise/"))
    assert 'data-status="published"' in listed


def test_errors_show_next_to_fields_and_values_are_kept(client, auth, enterprise_user):
    auth.login(enterprise_user.email)
    bad = {
        **GOOD,
        "title": "",
        "budget_min": "300",
        "budget_max": "100",
        "indicators-1-value": "很高",
        "industry_code": "Z9999",
    }
    response = client.post("/workspace/enterprise/demands/new", data=bad)
    html = page(response)
    assert response.status_code == 422
    assert re.search(r'data-field-error="title">请填写需求名称<', html)
    assert re.search(r'data-field-error="budget_max">预算上限不能小于下限<', html)
    assert re.search(r'data-field-error="indicators-1-value">请填写数字', html)
    assert 'value="很高"' in html and 'value="续航时间"' in html and 'value="300"' in html
    assert "升压站平台部署无人机机巢" in html
    assert re.search(r'<input checked[^>]*value="joint_dev"', html)
    assert db.session.scalars(select(Demand)).all() == []

    # the industry code is checked by the service against GB/T 4754
    response = client.post(
        "/workspace/enterprise/demands/new", data={**GOOD, "industry_code": "Z9999"}
    )
    assert response.status_code == 422
    assert re.search(
        r'data-field-error="industry_code">未知的国民经济行业代码：Z9999<', page(response)
    )
    assert 'value="Z9999"' in page(response)


def test_challenge_deadline_needs_reward(client, auth, enterprise_user):
    auth.login(enterprise_user.email)
    response = client.post("/workspace/enterprise/demands/new", data={**GOOD, "reward": ""})
    assert re.search(
        r'data-field-error="challenge_deadline">设置揭榜截止日期时，请同时填写揭榜奖励',
        page(response),
    )


def test_linter_warns_before_publishing_and_allows_confirm(client, auth, enterprise_user):
    auth.login(enterprise_user.email)
    vague = {
        "title": "提升生产效率",
        "description": "希望找到先进技术提升我们工厂的生产效率和产品质量。",
        "field": "智能制造",
        "scenario_type": "industry",
        "confidentiality": "public",
        "action": "publish",
    }
    response = client.post("/workspace/enterprise/demands/new", data=vague)
    html = page(response)
    assert 'data-testid="lint-warnings"' in html
    for code in (
        "short_description",
        "no_numbers",
        "no_baseline",
        "no_budget",
        "no_indicators",
        "no_deadline",
    ):
        assert f'data-lint="{code}"' in html
    assert "写出目前的做法和现有水平" in html and "仍然发布" in html
    assert 'value="提升生产效率"' in html
    assert db.session.scalars(select(Demand)).all() == []  # nothing saved before confirming

    response = client.post(
        "/workspace/enterprise/demands/new",
        data={**vague, "action": "publish_confirmed"},
        follow_redirects=True,
    )
    assert "需求已发布" in page(response)
    assert _only_demand().status == "published"


def test_complete_demand_publishes_without_warnings(client, auth, enterprise_user):
    auth.login(enterprise_user.email)
    response = client.post("/workspace/enterprise/demands/new", data=GOOD)
    assert response.status_code == 302


def test_lint_rules(app):
    with app.test_request_context():
        _check_lint_rules()


def _check_lint_rules():
    complete = {
        "description": "目前人工巡检每台约3小时，漏检率约8%，"
        + "需要无人机自主巡检叶片和塔筒并生成报告。" * 4,
        "budget_min_fen": 100,
        "budget_max_fen": None,
        "indicators": [{"name": "续航", "op": ">=", "value": 45, "unit": "分钟"}],
        "deadline": date(2030, 1, 1),
    }
    assert lint_demand(complete) == []
    codes = {w.code for w in lint_demand({**complete, "description": "现在约需3小时人工巡检" * 10})}
    assert codes == set()  # "现在…3小时" is a current value, so a baseline
    codes = {
        w.code
        for w in lint_demand({**complete, "description": "需要无人机巡检风机叶片，并生成报告" * 6})
    }
    assert codes == {"no_numbers", "no_baseline"}
    warning = lint_demand({"description": ""})[0]
    assert warning.code == "short_description" and "至少80字" in warning.suggestion


def test_save_draft_edit_and_close(client, auth, enterprise_user):
    auth.login(enterprise_user.email)
    client.post("/workspace/enterprise/demands/new", data={**GOOD, "action": "draft"})
    demand = _only_demand()
    assert demand.status == "draft" and demand.indexed_hash is None

    form = page(client.get(f"/workspace/enterprise/demands/{demand.id}/edit"))
    assert 'value="续航时间"' in form and 'value="45"' in form and 'value="150"' in form
    assert 'name="indicators-2-name"' in form  # an empty row after the two filled ones
    assert re.search(r'<input checked[^>]*value="site"', form)
    assert not re.search(r'<input checked[^>]*value="pilot"', form)

    edited = {
        **GOOD,
        "title": "海上风电叶片巡检（修订）",
        "indicators-1-name": "",
        "indicators-1-value": "",
    }
    response = client.post(
        f"/workspace/enterprise/demands/{demand.id}/edit", data=edited, follow_redirects=True
    )
    assert "需求已发布" in page(response)
    db.session.refresh(demand)
    assert demand.title == "海上风电叶片巡检（修订）" and len(demand.indicators) == 1

    response = client.post(
        f"/workspace/enterprise/demands/{demand.id}/close", follow_redirects=True
    )
    assert "已关闭" in page(response)
    db.session.refresh(demand)
    assert demand.status == "closed"


def test_editing_someone_elses_demand_is_forbidden(
    client, auth, create_org, create_user, enterprise_user
):
    rival = create_org("另一家示例公司", "enterprise")
    theirs = post_demand(
        rival, {"title": "别人的需求", "description": "内容", "scenario_type": "industry"}
    )
    db.session.commit()
    auth.login(enterprise_user.email)
    response = client.get(f"/workspace/enterprise/demands/{theirs.id}/edit")
    assert response.status_code == 403 and "您没有权限进行此操作" in page(response)
    response = client.post(
        f"/workspace/enterprise/demands/{theirs.id}/edit", data={**GOOD, "title": "篡改"}
    )
    assert response.status_code == 403
    response = client.post(f"/workspace/enterprise/demands/{theirs.id}/close")
    assert response.status_code == 403
    db.session.refresh(theirs)
    assert (theirs.title, theirs.status) == ("别人的需求", "published")


def test_institution_users_cannot_open_enterprise_workspace(client, auth, institution_user):
    auth.login(institution_user.email)
    response = client.get("/workspace/enterprise/")
    assert response.status_code == 403 and "没有权限" in page(response)


def test_workspace_requires_sign_in(client):
    response = client.get("/workspace/enterprise/demands/new")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_committed_publish_and_close_redirect_though_the_database_then_goes_away(
    client, auth, enterprise_user
):
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    auth.login(enterprise_user.email)
    gone = {"after": False}

    def on_commit(session) -> None:
        if any(isinstance(item, Demand) for item in session.identity_map.values()):
            gone["after"] = True

    def refuse(*_args, **_kwargs) -> None:
        if gone["after"]:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    event.listen(db.session, "after_commit", on_commit)
    event.listen(db.engine, "before_cursor_execute", refuse)
    try:
        published = client.post(
            "/workspace/enterprise/demands/new", data={**GOOD, "action": "publish_confirmed"}
        )
        gone["after"] = False
        demand_id = _only_demand().id
        closed = client.post(f"/workspace/enterprise/demands/{demand_id}/close")
    finally:
        event.remove(db.engine, "before_cursor_execute", refuse)
        event.remove(db.session, "after_commit", on_commit)
    assert published.status_code == 302
    assert published.location.endswith(f"/demands/{demand_id}/proposals")
    assert closed.status_code == 302
    assert db.session.get(Demand, demand_id).status == "closed"
