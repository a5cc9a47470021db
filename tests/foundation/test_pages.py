from datetime import date

import pytest

from market.services.listings import add_patent, post_demand, post_outcome
from models import db


@pytest.fixture
def catalogue(enterprise, institution):
    demands = [
        post_demand(
            enterprise,
            {
                "title": "海上风电无人机巡检",
                "description": "续航≥45分钟，抗风6级。",
                "field": "低空经济",
                "scenario_type": "industry",
                "budget_min_fen": 50 * 10**6,
                "budget_max_fen": 200 * 10**6,
                "cooperation_modes": ["license", "use_first"],
                "required_maturity": "pilot",
                "deadline": date(2027, 6, 30),
                "indicators": [{"name": "续航", "op": ">=", "value": 45, "unit": "分钟"}],
            },
        ),
        post_demand(
            enterprise,
            {
                "title": "养殖水质在线监测",
                "description": "溶解氧监测精度0.1mg/L。",
                "field": "海洋经济",
                "scenario_type": "livelihood",
            },
        ),
        post_demand(
            enterprise,
            {
                "title": "保密的芯片散热需求",
                "description": "仅经纪人可见的内容。",
                "field": "集成电路",
                "scenario_type": "industry",
                "confidentiality": "broker_only",
            },
        ),
    ]
    outcome = post_outcome(
        institution,
        {
            "title": "一种长航时巡检无人机",
            "abstract": "续航50分钟。",
            "maturity": "pilot",
            "trl": 5,
            "asking_price_fen": 80 * 10**6,
            "transfer_modes": ["license", "use_first"],
            "use_first_eligible": True,
            "team": "无人机系统研究所 张工团队（5人）",
            "incumbent_comparison": "同级别机型续航普遍为30分钟。",
            "indicators": [{"name": "续航时间", "op": ">=", "value": 50, "unit": "分钟"}],
        },
        ipc_codes=["B64C"],
    )
    add_patent(
        outcome, {"number": "CN100000001B", "kind": "invention", "expires_on": date(2040, 1, 1)}
    )
    draft = post_outcome(institution, {"title": "未发布的草稿成果", "status": "draft"})
    db.session.commit()
    return demands, outcome, draft


def text(response) -> str:
    return response.get_data(as_text=True)


def test_home_shows_three_lists(client, catalogue):
    page = text(client.get("/"))
    assert '<p class="display-6 mb-1" data-testid="demand-count">2</p>' in page
    assert 'data-testid="outcome-count">1<' in page
    assert 'data-testid="case-count">0<' in page
    assert "海上风电无人机巡检" in page and "一种长航时巡检无人机" in page
    assert "保密的芯片散热需求" not in page and "未发布的草稿成果" not in page
    assert "场景机会清单" in page and "能力清单" in page and "标杆案例清单" in page


def test_demand_list_search_filters_and_pagination(client, catalogue, app):
    page = text(client.get("/demands?q=巡检"))
    assert "海上风电无人机巡检" in page and "养殖水质在线监测" not in page
    page = text(client.get("/demands?field=海洋经济"))
    assert "养殖水质在线监测" in page and "海上风电无人机巡检" not in page
    page = text(client.get("/demands?maturity=pilot"))
    assert "海上风电无人机巡检" in page and "养殖水质在线监测" not in page
    page = text(client.get("/demands?q=不存在的关键词"))
    assert "没有符合条件的场景需求" in page
    app.config["PAGE_SIZE"] = 1
    try:
        first, second = text(client.get("/demands")), text(client.get("/demands?page=2"))
    finally:
        app.config["PAGE_SIZE"] = 20
    assert "第 1 / 2 页" in first and "第 2 / 2 页" in second
    assert ("养殖水质在线监测" in first) != ("养殖水质在线监测" in second)


def test_like_wildcards_are_literal(client, catalogue):
    assert "没有符合条件的场景需求" in text(client.get("/demands?q=%25"))


def test_demand_detail_shows_facts(client, catalogue):
    demands, _, _ = catalogue
    page = text(client.get(f"/demands/{demands[0].id}"))
    assert "续航" in page and "≥ 45 分钟" in page
    assert "50 万元 – 200 万元" in page
    assert "先用后转" in page and "中试" in page and "2027-06-30" in page


def test_broker_only_demand_hidden_from_public_shown_to_broker(
    client, catalogue, create_user, auth
):
    demands, _, _ = catalogue
    secret = demands[2]
    assert client.get(f"/demands/{secret.id}").status_code == 404
    assert "保密的芯片散热需求" not in text(client.get("/demands"))
    create_user("broker@test.cn", "broker")
    db.session.commit()
    auth.login("broker@test.cn")
    assert client.get(f"/demands/{secret.id}").status_code == 200
    assert "保密的芯片散热需求" in text(client.get("/demands"))


def test_outcome_list_and_detail(client, catalogue):
    _, outcome, draft = catalogue
    page = text(client.get("/outcomes?q=无人机&maturity=pilot"))
    assert "一种长航时巡检无人机" in page and "可先用后转" in page
    assert "未发布的草稿成果" not in text(client.get("/outcomes"))
    detail = text(client.get(f"/outcomes/{outcome.id}"))
    assert "CN100000001B" in detail and "发明专利" in detail and "B64C" in detail
    assert "80 万元" in detail
    assert client.get(f"/outcomes/{draft.id}").status_code == 404


def test_outcome_page_shows_what_the_institution_entered(client, catalogue):
    _, outcome, _ = catalogue
    detail = text(client.get(f"/outcomes/{outcome.id}"))
    assert 'data-testid="indicators"' in detail and "续航时间" in detail and "≥ 50 分钟" in detail
    assert "与现有技术对比" in detail and "同级别机型续航普遍为30分钟。" in detail
    assert "研发团队" in detail and "张工团队（5人）" in detail


def test_demand_list_filters_challenges_and_scenario_types(client, catalogue, enterprise):
    post_demand(
        enterprise,
        {
            "title": "港口裂纹检测揭榜",
            "description": "钢结构裂纹检测，检出率≥95%。",
            "scenario_type": "infrastructure",
            "reward_fen": 50_000_000,
        },
    )
    db.session.commit()
    page = text(client.get("/demands?challenge=1"))
    assert "港口裂纹检测揭榜" in page and "海上风电无人机巡检" not in page
    assert 'id="challenge" name="challenge" value="1" checked' in page
    page = text(client.get("/demands?scenario_type=livelihood"))
    assert "养殖水质在线监测" in page and "港口裂纹检测揭榜" not in page
    assert '<option value="livelihood" selected>' in page
    body = client.get("/api/v1/demands?challenge=true").get_json()
    assert [d["title"] for d in body["items"]] == ["港口裂纹检测揭榜"]


def test_login_alias_leads_to_the_sign_in_page(client):
    response = client.get("/login")
    assert response.status_code == 302 and response.location.endswith("/auth/login")
    response = client.get("/login?next=/workspace/")
    assert response.status_code == 302 and response.location.endswith(
        "/auth/login?next=/workspace/"
    )


def test_missing_pages_answer_html_or_json(client):
    response = client.get("/demands/999999")
    assert response.status_code == 404 and "页面不存在" in text(response)
    response = client.get("/demands/999999", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.json["code"] == "not_found"


def test_login_logout(client, create_user, auth, enterprise):
    create_user("staff@test.cn", "enterprise", enterprise)
    db.session.commit()
    bad = auth.login("staff@test.cn", "wrong-password")
    assert bad.status_code == 200 and "邮箱或密码不正确" in text(bad)
    assert 'value="staff@test.cn"' in text(bad)
    good = auth.login("staff@test.cn")
    assert good.status_code == 302
    assert "staff · 企业用户" in text(client.get("/"))
    auth.logout()
    assert "staff · 企业用户" not in text(client.get("/"))


def test_login_refuses_open_redirect(client, create_user, auth):
    create_user("u@test.cn", "broker")
    db.session.commit()
    response = client.post(
        "/auth/login?next=//evil.example/x",
        data={"email": "u@test.cn", "password": "correct-horse-1"},
    )
    assert response.headers["Location"] == "/"


def test_bootstrap_served_locally(client):
    with client.get("/vendor/bootstrap/css/bootstrap.min.css") as response:
        assert response.status_code == 200 and b"Bootstrap" in response.data[:200]
    assert "/vendor/bootstrap/css/bootstrap.min.css" in text(client.get("/"))


def test_english_switch(client):
    client.get("/lang/en")
    assert 'lang="en"' in text(client.get("/"))
