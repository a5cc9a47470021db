"""Institution workspace: outcomes with patents."""

from __future__ import annotations

import re

from sqlalchemy import select

from models import Outcome, Patent, db

from .conftest import page

OUTCOME = {
    "title": "一种长航时复合翼巡检无人机",
    "abstract": "续航50分钟，抗风7级，可在海上平台自主起降。",
    "field": "低空经济",
    "ipc_codes": "B64C；G06T",
    "maturity": "pilot",
    "trl": "6",
    "indicators-0-name": "续航时间",
    "indicators-0-op": ">=",
    "indicators-0-value": "50",
    "indicators-0-unit": "分钟",
    "incumbent_comparison": "主流多旋翼续航约25分钟。",
    "transfer_modes": ["license", "use_first"],
    "asking_price": "80",
    "use_first_eligible": "y",
    "team": "王教授团队",
    "team_share_pct": "70",
    "fiscal_funded": "y",
    "action": "publish",
}
PATENT = {
    "patent-number": "cn 202310123456.7",
    "patent-kind": "invention",
    "patent-applied_on": "2023-02-01",
    "patent-granted_on": "2024-06-01",
    "patent-expires_on": "2043-02-01",
    "patent-legal_status": "granted",
    "patent-ipc": "B64C",
}


def test_post_outcome_then_add_patent_and_refuse_duplicate(
    client, auth, institution_user, institution
):
    auth.login(institution_user.email)
    response = client.post(
        "/workspace/institution/outcomes/new", data=OUTCOME, follow_redirects=True
    )
    assert "成果已发布" in page(response)
    outcome = db.session.scalars(select(Outcome)).one()
    assert outcome.organization_id == institution.id
    assert (outcome.maturity, outcome.trl, outcome.asking_price_fen) == ("pilot", 6, 80 * 10**6)
    assert outcome.use_first_eligible and outcome.fiscal_funded and outcome.team_share_pct == 70
    assert outcome.ipc_codes == ["B64C", "G06T"] and outcome.transfer_modes == [
        "license",
        "use_first",
    ]
    assert outcome.indicators[0]["value"] == 50.0
    assert outcome.indexed_hash == outcome.content_hash  # embed_listing ran after the commit

    url = f"/workspace/institution/outcomes/{outcome.id}/patents"
    response = client.post(url, data=PATENT, follow_redirects=True)
    assert "已添加专利 CN202310123456.7" in page(response)
    patent = db.session.scalars(select(Patent)).one()
    assert patent.outcome_id == outcome.id and patent.ipc_codes == ["B64C"]
    assert "2043-02-01" in page(response)

    response = client.post(url, data={**PATENT, "patent-number": "CN202310123456.7"})
    html = page(response)
    assert response.status_code == 422
    assert re.search(r'data-field-error="patent-number">专利号 CN202310123456.7 已存在<', html)
    assert 'value="CN202310123456.7"' in html and 'value="2043-02-01"' in html
    assert len(db.session.scalars(select(Patent)).all()) == 1


def test_patent_dates_and_ipc_are_checked(client, auth, institution_user):
    auth.login(institution_user.email)
    client.post("/workspace/institution/outcomes/new", data={**OUTCOME, "action": "draft"})
    outcome = db.session.scalars(select(Outcome)).one()
    assert outcome.status == "draft"
    url = f"/workspace/institution/outcomes/{outcome.id}/patents"
    html = page(client.post(url, data={**PATENT, "patent-granted_on": "2022-01-01"}))
    assert re.search(r'data-field-error="patent-granted_on">授权日不能早于申请日<', html)
    html = page(client.post(url, data={**PATENT, "patent-ipc": "Q99Z"}))
    assert re.search(r'data-field-error="patent-ipc">未知的IPC分类号：Q99Z<', html)
    assert db.session.scalars(select(Patent)).all() == []


def test_outcome_form_errors_next_to_fields(client, auth, institution_user):
    auth.login(institution_user.email)
    bad = {**OUTCOME, "trl": "8", "team_share_pct": "120", "ipc_codes": "B64C；XX99"}
    response = client.post("/workspace/institution/outcomes/new", data=bad)
    html = page(response)
    assert response.status_code == 422
    assert re.search(r'data-field-error="trl">成熟度“中试”对应TRL 5–6级<', html)
    assert re.search(r'data-field-error="team_share_pct">请输入0到100之间的整数<', html)
    assert 'value="120"' in html and "主流多旋翼续航约25分钟" in html

    response = client.post(
        "/workspace/institution/outcomes/new", data={**OUTCOME, "ipc_codes": "B64C；XX99"}
    )
    assert re.search(r'data-field-error="ipc_codes">未知的IPC分类号：XX99<', page(response))
    assert db.session.scalars(select(Outcome)).all() == []


def test_other_institutions_outcome_is_forbidden(client, auth, institution_user, create_org):
    from market.services.listings import post_outcome

    other = create_org("另一所示例大学", "university")
    theirs = post_outcome(other, {"title": "别人的成果"})
    db.session.commit()
    auth.login(institution_user.email)
    assert client.get(f"/workspace/institution/outcomes/{theirs.id}/edit").status_code == 403
    response = client.post(f"/workspace/institution/outcomes/{theirs.id}/patents", data=PATENT)
    assert response.status_code == 403 and "没有权限" in page(response)
    assert db.session.scalars(select(Patent)).all() == []


def test_list_shows_my_outcomes_with_patent_counts(client, auth, institution_user):
    auth.login(institution_user.email)
    client.post("/workspace/institution/outcomes/new", data=OUTCOME)
    outcome = db.session.scalars(select(Outcome)).one()
    client.post(f"/workspace/institution/outcomes/{outcome.id}/patents", data=PATENT)
    html = page(client.get("/workspace/institution/"))
    row = re.search(rf'<tr data-outcome="{outcome.id}">(.*?)</tr>', html, re.S).group(1)
    assert "一种长航时复合翼巡检无人机" in row and 'data-label="专利">1</td>' in row
    assert "80 万元" in row
    assert "共1项" in html


def test_research_type_and_use_right_years_entered_and_shown(client, auth, institution_user):
    auth.login(institution_user.email)
    data = {**OUTCOME, "research_type": "applied", "use_right_years": "10"}
    response = client.post("/workspace/institution/outcomes/new", data=data)
    assert response.status_code == 302
    outcome = db.session.scalars(select(Outcome)).one()
    assert (outcome.research_type, outcome.use_right_years) == ("applied", 10)
    html = page(client.get(f"/outcomes/{outcome.id}"))
    assert re.search(r'data-testid="research-type">应用技术<', html)
    assert re.search(r'data-testid="use-right-years">10年<', html)

    edit = f"/workspace/institution/outcomes/{outcome.id}/edit"
    html = page(client.get(edit))
    assert re.search(r'<option selected value="applied">|<option value="applied" selected', html)
    assert 'name="use_right_years"' in html and 'value="10"' in html
    client.post(edit, data={**data, "research_type": "", "use_right_years": ""})
    db.session.expire_all()
    assert outcome.research_type is None and outcome.use_right_years is None
    html = page(client.get(f"/outcomes/{outcome.id}"))
    assert re.search(r'data-testid="research-type">未填写<', html)  # no patent yet
    assert "use-right-years" not in html


def test_use_right_years_must_be_one_to_thirty(client, auth, institution_user):
    auth.login(institution_user.email)
    for typed in ("0", "31", "2.5"):
        response = client.post(
            "/workspace/institution/outcomes/new", data={**OUTCOME, "use_right_years": typed}
        )
        assert response.status_code == 422, typed
        error = 'data-field-error="use_right_years">长期使用权年限须为1到30之间的整数（年）<'
        assert error in page(response), typed
    assert db.session.scalars(select(Outcome)).all() == []


def test_a_large_list_of_outcomes_is_paged_and_searchable(client, auth, institution_user):
    """An office with thousands of outcomes gets 50 a page, newest first, and a title search;
    patent counts are right on every page."""
    org_id = institution_user.organization_id
    for n in range(55):
        outcome = Outcome(organization_id=org_id, title=f"分页测试成果{n:03d}")
        outcome.refresh_hash()
        db.session.add(outcome)
        db.session.flush()
        if n == 1:
            db.session.add(Patent(number="CN200000001B", outcome_id=outcome.id, title="专利"))
    db.session.commit()
    auth.login(institution_user.email)
    first = page(client.get("/workspace/institution/"))
    assert "共55项" in first and "第 1 / 2 页" in first
    assert "分页测试成果054" in first and "分页测试成果000" not in first
    second = page(client.get("/workspace/institution/?page=2"))
    assert "分页测试成果000" in second and "分页测试成果001" in second
    assert re.search(r"分页测试成果001.*?data-label=\"专利\">1<", second, re.S)
    found = page(client.get("/workspace/institution/?q=成果05"))
    assert "分页测试成果050" in found and "分页测试成果049" not in found
    assert "第 1 / 2 页" not in found
    nothing = page(client.get("/workspace/institution/?q=不存在"))
    assert "没有名称包含“不存在”的成果" in nothing
