"""标杆案例: the admin desk edits and publishes drafts; the public list and API show published only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from market.services import cases, deals
from models import AuditLog, BenchmarkCase, ValidationError, db

from .conftest import NOW


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def signed_case(match, broker, make_deal) -> BenchmarkCase:
    deal = make_deal(match, "notice")
    deals.move_deal(deal, "signed", broker, now=NOW + timedelta(days=16))
    db.session.commit()
    return db.session.scalar(select(BenchmarkCase).where(BenchmarkCase.deal_id == deal.id))


@pytest.fixture
def admin(create_user):
    user = create_user("admin@example.cn", "admin")
    db.session.commit()
    return user


@pytest.fixture
def admin_client(client, auth, admin):
    auth.login(admin.email)
    return client


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


# -- service ------------------------------------------------------------------------------------


def test_publish_edit_unpublish_are_audited(signed_case, admin):
    cases.update_case(
        signed_case, " 港口起重机检测落地 ", "一段足够长的案例摘要，说明成果如何落地。", admin
    )
    cases.publish_case(signed_case, admin, now=NOW)
    assert signed_case.published and signed_case.published_at == NOW
    assert signed_case.title == "港口起重机检测落地"
    assert cases.published_count() == 1
    cases.unpublish_case(signed_case, admin)
    assert not signed_case.published and signed_case.published_at is None
    assert actions()[-3:] == ["case.update", "case.publish", "case.unpublish"]
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "case.update"))
    assert entry.object_type == "benchmarkcase" and entry.object_id == signed_case.id
    assert entry.after["title"] == "港口起重机检测落地"


def test_unchanged_edit_and_repeated_publish_write_nothing(signed_case, admin):
    before = len(actions())
    cases.update_case(signed_case, signed_case.title, signed_case.summary, admin)
    cases.unpublish_case(signed_case, admin)
    assert len(actions()) == before


@pytest.mark.parametrize(
    ("title", "summary", "field"),
    [
        ("", "足够长的一段案例摘要文字。", "title"),
        ("标题", "太短", "summary"),
        ("长" * 201, "x" * 20, "title"),
    ],
)
def test_update_refuses_bad_values(signed_case, admin, title, summary, field):
    with pytest.raises(ValidationError) as e:
        cases.update_case(signed_case, title, summary, admin)
    assert e.value.field == field


def test_published_rows_carry_deal_facts(signed_case, admin):
    cases.publish_case(signed_case, admin, now=NOW)
    (row,) = cases.published_cases().items
    assert row.outcome_title == "钢结构裂纹智能检测系统"
    assert "港口起重机" in row.demand_title
    assert row.region == "广东省珠海市" and row.field == "智能制造"
    assert row.signed_at == NOW + timedelta(days=16)


def test_broker_only_demand_stays_unnamed(signed_case, admin):
    signed_case.deal.match.demand.confidentiality = "broker_only"
    cases.publish_case(signed_case, admin, now=NOW)
    (row,) = cases.published_cases().items
    assert row.demand_title is None


# -- admin pages --------------------------------------------------------------------------------


def test_admin_lists_drafts_and_publishes(admin_client, signed_case):
    body = text(admin_client.get("/admin/cases"))
    assert signed_case.title in body and "草稿" in body
    assert 'href="/admin/cases"' in text(admin_client.get("/admin/audit"))
    response = admin_client.post(f"/admin/cases/{signed_case.id}/publish")
    assert response.status_code == 302
    db.session.refresh(signed_case)
    assert signed_case.published
    published = text(admin_client.get("/admin/cases?state=published"))
    assert signed_case.title in published and "撤下" in published
    assert signed_case.title not in text(admin_client.get("/admin/cases?state=draft"))
    admin_client.post(f"/admin/cases/{signed_case.id}/unpublish")
    db.session.refresh(signed_case)
    assert not signed_case.published
    assert actions()[-2:] == ["case.publish", "case.unpublish"]


def test_admin_edit_shows_errors_and_keeps_values(admin_client, signed_case):
    response = admin_client.post(
        f"/admin/cases/{signed_case.id}", data={"title": "新的标题保留", "summary": "短"}
    )
    body = text(response)
    assert response.status_code == 422
    assert 'data-field-error="summary"' in body and "案例摘要须为10到2000个字" in body
    assert 'value="新的标题保留"' in body
    too_long = admin_client.post(
        f"/admin/cases/{signed_case.id}", data={"title": "长" * 201, "summary": "x" * 20}
    )
    assert too_long.status_code == 422 and "案例标题不能超过200个字" in text(too_long)
    ok = admin_client.post(
        f"/admin/cases/{signed_case.id}",
        data={"title": "改好的标题", "summary": "改好的摘要，足够十个字以上。"},
    )
    assert ok.status_code == 302
    db.session.refresh(signed_case)
    assert signed_case.title == "改好的标题" and actions()[-1] == "case.update"


@pytest.mark.parametrize("role", ["broker", "enterprise"])
def test_non_admins_get_403(client, auth, create_user, signed_case, role):
    user = create_user(f"{role}-x@example.cn", role)
    db.session.commit()
    auth.login(user.email)
    assert client.get("/admin/cases").status_code == 403
    assert client.post(f"/admin/cases/{signed_case.id}/publish").status_code == 403
    db.session.refresh(signed_case)
    assert not signed_case.published


def test_publish_needs_csrf_token(app, admin_client, signed_case):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = admin_client.post(f"/admin/cases/{signed_case.id}/publish")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code in (302, 400)
    db.session.refresh(signed_case)
    assert not signed_case.published


# -- public list, home and API ------------------------------------------------------------------


def test_public_list_home_and_api_show_published_only(client, signed_case, admin):
    assert signed_case.title not in text(client.get("/cases"))
    assert 'data-testid="case-count">0<' in text(client.get("/"))
    assert client.get("/api/v1/cases").get_json()["total"] == 0
    cases.publish_case(signed_case, admin, now=NOW)
    db.session.commit()
    body = text(client.get("/cases"))
    assert signed_case.title in body and "广东省珠海市" in body and "2026-03-17" in body
    assert "&lt;script&gt;" in body and "<script>alert" not in body
    assert 'data-testid="case-count">1<' in text(client.get("/"))
    data = client.get("/api/v1/cases?per_page=5").get_json()
    assert data["total"] == 1 and data["per_page"] == 5 and data["pages"] == 1
    (item,) = data["items"]
    assert item["id"] == signed_case.id and item["title"] == signed_case.title
    assert item["outcome_title"] == "钢结构裂纹智能检测系统" and item["region"] == "广东省珠海市"
    assert item["signed_at"].startswith("2026-03-17")
    assert client.get("/api/v1/cases?page=0").status_code == 422
