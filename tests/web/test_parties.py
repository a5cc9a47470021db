"""The parties' view of the matcher: proposals for a demand, demands for an outcome."""

import pytest

from market.services import indexing, matching
from market.services.listings import post_demand, post_outcome
from models import AuditLog, Match, db


@pytest.fixture
def matched(enterprise, institution, create_user, create_org):
    other = create_org("示例别家企业", "enterprise")
    demand = post_demand(
        enterprise,
        {
            "title": "风电叶片无人机巡检",
            "scenario_type": "industry",
            "description": "需要无人机自主巡检风电叶片，续航≥40分钟。",
        },
    )
    secret = post_demand(
        other,
        {
            "title": "风电无人机巡检（脱敏）",
            "scenario_type": "industry",
            "description": "无人机巡检风电叶片。",
            "confidentiality": "desensitized",
        },
    )
    outcome = post_outcome(
        institution,
        {"title": "风电叶片无人机自主巡检系统", "abstract": "无人机巡检叶片，续航50分钟。"},
    )
    users = {
        "ent": create_user("ent@test.cn", "enterprise", enterprise),
        "other": create_user("other@test.cn", "enterprise", other),
        "tto": create_user("tto@test.cn", "institution", institution),
    }
    db.session.commit()
    indexing.reconcile()
    matching.refresh_proposals()
    db.session.commit()
    return demand, secret, outcome, users


def text(response) -> str:
    return response.get_data(as_text=True)


def test_enterprise_sees_its_proposals_with_explanation(client, auth, matched):
    demand, _, outcome, _ = matched
    auth.login("ent@test.cn")
    page = text(client.get(f"/my/demands/{demand.id}/proposals"))
    assert "风电叶片无人机自主巡检系统" in page and "评分" in page
    match = db.session.query(Match).filter_by(demand_id=demand.id, outcome_id=outcome.id).one()
    detail = text(client.get(f"/my/proposals/{match.id}"))
    assert "<mark>" in detail and "评分构成" in detail and "先用后转条款草案" in detail
    evidence = match.explanation["retrieval"]
    assert f"与其最相近的{evidence['neighbors']}项中有{evidence['neighbors_retrieved']}项" in detail
    assert "语义相似度 <span" in detail and "已计入综合检索排名" in detail  # weight 0, said why
    assert (
        "初次检索未命中" in detail if evidence["via_neighbors"] else "初次检索未命中" not in detail
    )
    assert ("因IPC分类与之相近而列入候选" in detail) == evidence["via_ipc"]
    match.explanation = {
        **match.explanation,
        "retrieval": {**evidence, "via_neighbors": True, "via_ipc": True},
    }
    db.session.commit()
    detail = text(client.get(f"/my/proposals/{match.id}"))
    assert "初次检索未命中，因与已命中的条目相近而补充列入" in detail
    assert "语义与关键词检索均未命中，因IPC分类与之相近而列入候选" in detail
    response = client.post(f"/my/proposals/{match.id}/introduce")
    assert response.status_code == 302
    assert db.session.query(AuditLog).filter_by(action="match.request_intro").count() == 1


def test_other_enterprise_cannot_see_them(client, auth, matched):
    demand, *_ = matched
    auth.login("other@test.cn")
    assert client.get(f"/my/demands/{demand.id}/proposals").status_code == 403
    match = db.session.query(Match).filter_by(demand_id=demand.id).first()
    assert client.get(f"/my/proposals/{match.id}").status_code == 403


def test_institution_sees_fitting_demands_and_identity_is_hidden(client, auth, matched):
    demand, secret, outcome, _ = matched
    auth.login("tto@test.cn")
    page = text(client.get(f"/my/outcomes/{outcome.id}/demands"))
    assert "风电叶片无人机巡检" in page and "风电无人机巡检（脱敏）" in page
    match = db.session.query(Match).filter_by(demand_id=secret.id, outcome_id=outcome.id).one()
    detail = text(client.get(f"/my/proposals/{match.id}"))
    assert "发布单位已脱敏" in detail and "示例别家企业" not in detail


def test_anonymous_is_sent_to_login(client, matched):
    demand, *_ = matched
    response = client.get(f"/my/demands/{demand.id}/proposals")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_owner_of_a_broker_only_demand_never_reads_visibility_as_unmet(
    client, auth, matched, enterprise
):
    """The owner of a 仅经纪人可见 demand reads its proposals; no reason says the pair fails
    because of who may see it."""
    _, _, outcome, _ = matched
    hidden = post_demand(
        enterprise,
        {
            "title": "风电叶片巡检无人机（仅经纪人可见）",
            "scenario_type": "industry",
            "description": "需要无人机自主巡检风电叶片，续航≥40分钟，识别叶片裂纹。",
            "confidentiality": "broker_only",
        },
    )
    db.session.commit()
    indexing.reconcile()
    matching.refresh_proposals()
    db.session.commit()
    match = db.session.query(Match).filter_by(demand_id=hidden.id, outcome_id=outcome.id).one()
    assert "visible" not in str(match.explanation)
    auth.login("ent@test.cn")
    listing = text(client.get(f"/my/demands/{hidden.id}/proposals"))
    detail = text(client.get(f"/my/proposals/{match.id}"))
    assert "风电叶片无人机自主巡检系统" in listing and "硬性条件" in detail
    for page in (listing, detail):
        assert "信息对当前用户可见" not in page and "不满足：" not in page
