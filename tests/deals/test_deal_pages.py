"""Broker cockpit, term-sheet and public 公示 pages through the test client."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from market.services import deals, notices, terms, use_first
from models import Deal, Match, Objection, db, utcnow


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def broker_client(client, auth, broker):
    db.session.commit()
    auth.login(broker.email)
    return client


@pytest.mark.parametrize(
    "path",
    ["/broker/", "/broker/deals", "/broker/proposals/{match}", "/terms/{sheet}"],
)
def test_non_brokers_get_403(client, auth, create_user, enterprise, match, broker, path):
    sheet = terms.draft_for_match(match, None, "use_first", broker)
    user = create_user("visitor@example.cn", "enterprise", enterprise)
    other = create_user("third@example.cn", "institution")
    db.session.commit()
    if path.startswith("/terms"):
        auth.login(other.email)  # not a party to the match
    else:
        auth.login(user.email)
    response = client.get(path.format(match=match.id, sheet=sheet.id))
    assert response.status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get("/broker/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_queue_lists_open_proposals_best_first(broker_client, create_match, create_outcome):
    create_match(score=0.61, outcome=create_outcome("低分成果"))
    create_match(score=0.93)
    db.session.commit()
    body = text(broker_client.get("/broker/"))
    assert "共 2 条待审核推荐" in body
    assert body.index("0.93") < body.index("0.61")
    filtered = text(broker_client.get("/broker/?min_score=0.7"))
    assert "低分成果" not in filtered and "0.93" in filtered


def test_proposal_page_marks_phrases_and_escapes_text(broker_client, match):
    db.session.commit()
    body = text(broker_client.get(f"/broker/proposals/{match.id}"))
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert body.count("<mark>裂纹智能检测</mark>") >= 3  # both texts and the phrase list
    assert "语义相似" in body and "✓" in body and "满足" in body
    assert "先用后转条款草案" in body and "零门槛费" in body


def test_accept_through_the_page_then_stale_second_accept_conflicts(
    broker_client, match, other_broker, auth
):
    db.session.commit()
    version = match.version_id
    response = broker_client.post(f"/broker/proposals/{match.id}/accept", data={"version": version})
    assert response.status_code == 302
    deal = db.session.scalar(select(Deal))
    assert response.headers["Location"].endswith(f"/broker/deals/{deal.id}")
    auth.logout()
    auth.login(other_broker.email)
    again = broker_client.post(f"/broker/proposals/{match.id}/accept", data={"version": version})
    assert again.status_code == 409
    assert "其他经纪人" in text(again)
    assert len(db.session.scalars(select(Deal)).all()) == 1


def test_reject_without_reason_shows_error_next_to_field(broker_client, match):
    db.session.commit()
    response = broker_client.post(
        f"/broker/proposals/{match.id}/reject",
        data={"version": match.version_id, "comment": "不合适"},
    )
    assert response.status_code == 422
    assert 'data-field-error="reason"' in text(response) and "不合适" in text(response)
    ok = broker_client.post(
        f"/broker/proposals/{match.id}/reject",
        data={"version": match.version_id, "reason": "field_mismatch"},
    )
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Match, match.id).rejection_reason == "field_mismatch"


def test_board_shows_overdue_badge(broker_client, match, broker):
    deal = deals.accept_match(match, broker)
    deal.stage_changed_at = utcnow() - timedelta(days=10)
    db.session.commit()
    body = text(broker_client.get("/broker/deals"))
    assert "钢结构裂纹智能检测系统" in body and "已超时" in body


def test_deal_page_refuses_signing_jump_with_message(broker_client, match, broker):
    deal = deals.accept_match(match, broker)
    db.session.commit()
    response = broker_client.post(
        f"/broker/deals/{deal.id}/move", data={"to_stage": "signed", "version": deal.version_id}
    )
    assert response.status_code == 422  # "signed" is not even a choice from "reviewed"
    moved = broker_client.post(
        f"/broker/deals/{deal.id}/move",
        data={"to_stage": "introduced", "note": "已约见", "version": deal.version_id},
    )
    assert moved.status_code == 302
    assert "已约见" in text(broker_client.get(f"/broker/deals/{deal.id}"))


def test_reward_over_cap_shows_rule_next_to_amount(broker_client, match, broker):
    deal = deals.accept_match(match, broker)
    db.session.commit()
    broker_client.post(f"/broker/deals/{deal.id}/subsidy", data={"amount": "10000"})
    response = broker_client.post(
        f"/broker/deals/{deal.id}/rewards",
        data={"recipient": broker.id, "amount": "3000.01", "note": "x"},
    )
    assert response.status_code == 422
    assert "第28条" in text(response) and 'value="3000.01"' in text(response)


def test_term_sheet_page_shows_sources_and_edit_errors(broker_client, match, broker):
    row = terms.draft_for_match(match, "zhuhai-2025", "use_first", broker)
    db.session.commit()
    body = text(broker_client.get(f"/terms/{row.id}"))
    assert "珠府办函〔2025〕13号" in body  # the notes (措施7, 措施10)
    assert "法律规定：《中华人民共和国促进科技成果转化法》第十八条" in body  # 公示 is statutory
    assert "free_window_months" in body  # the source codes table
    form = {"version": row.version_id, "entry_fee": "5000"}
    for name, term in row.data["terms"].items():
        form.setdefault(name, _form_text(term))
    response = broker_client.post(f"/terms/{row.id}", data=form)
    assert response.status_code == 422
    assert re.search(r'data-field-error="entry_fee">.*措施7', text(response), re.S)


def _form_text(term: dict) -> str:
    value = term["value"]
    if value is None:
        return ""
    if term["unit"] in ("fen", "bps"):
        return f"{value / 100:.2f}"
    if term["unit"] == "bool":
        return "true" if value else "false"
    return str(value)


def test_simulator_renders_table_and_chart(broker_client, match, broker):
    row = terms.draft_for_match(match, "zhuhai-2025", "use_first", broker)
    db.session.commit()
    body = text(broker_client.get(f"/terms/{row.id}?low=100&base=300&high=600&discount=8"))
    assert "<svg" in body and "许可方净现值" in body and "基准情景" in body
    bad = text(broker_client.get(f"/terms/{row.id}?low=100&base=300&high=600&discount=150"))
    assert "折现率须在0到100之间" in bad and "<svg" not in bad


def test_simulator_names_the_payments_a_scenario_never_reaches(broker_client, match, broker):
    row = terms.draft_for_match(match, "zhuhai-2025", "use_first", broker)
    plan = [
        {"event": "first_revenue", "amount": 25_000_000},
        {"event": "revenue_at_least", "threshold": 10**13, "amount": 1_000_000},
    ]
    terms.edit_terms(row, {"milestones": plan}, broker, row.version_id)
    db.session.commit()
    body = text(broker_client.get(f"/terms/{row.id}?low=100&base=300&high=600&discount=8"))
    notes = [part.split("</div>", 1)[0] for part in body.split("data-unpaid")[1:]]
    assert len(notes) == 3  # 1,000亿 of sales is reached in no scenario
    for note in notes:
        assert "里程碑：累计销售收入达到约定额：10,000.00元" in note
        assert "取得首笔销售收入" not in note  # paid in the first sales year


@pytest.mark.parametrize(
    ("kind", "content_type"),
    [
        ("pdf", "application/pdf"),
        ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("json", "application/json"),
        ("csv", "text/csv; charset=utf-8"),
    ],
)
def test_exports_download(broker_client, match, broker, kind, content_type):
    row = terms.draft_for_match(match, "zhuhai-2025", "use_first", broker)
    db.session.commit()
    response = broker_client.get(f"/terms/{row.id}/export/{kind}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert "钢结构裂纹智能检测系统" in unquote(disposition.split("''", 1)[1])
    if kind == "pdf":
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(response.data))
        assert "钢结构裂纹智能检测系统" in "".join(p.extract_text() for p in reader.pages)


def test_public_notice_countdown_and_objection(client, match, broker, make_deal):
    deal = make_deal(match, "negotiating")
    notice = notices.open_notice(deal, 50_000_000, "negotiated", broker, now=utcnow())
    db.session.commit()
    listing = text(client.get("/notices/"))
    left = notices.countdown(notice).text  # to 24:00 Beijing time of day 15, holidays extending
    assert "钢结构裂纹智能检测系统" in listing and left in listing
    page = client.get(f"/notices/{notice.id}")
    assert "500,000.00 元" in text(page) and "提出异议" in text(page)
    bad = client.post(f"/notices/{notice.id}", data={"name": "", "contact": "123", "text": "太短"})
    assert bad.status_code == 422
    body = text(bad)
    assert "请填写姓名或单位" in body and "联系方式须为5到120个字符" in body and "太短" in body
    ok = client.post(
        f"/notices/{notice.id}",
        data={"name": "张三", "contact": "13800000000", "text": "评估报告未公开，价格依据不足。"},
    )
    assert ok.status_code == 302
    assert db.session.scalar(select(Objection)).name == "张三"
    ok, reason = notices.signing_decision(deal, notice.closes_at + timedelta(minutes=1))
    assert not ok and "异议" in reason


def test_consent_page_for_owner(client, auth, create_user, institution, create_outcome):
    from datetime import date

    outcome = create_outcome("到期成果", granted_on=date(2018, 1, 1))
    use_first.sweep_use_first(date(2024, 1, 2))
    owner = create_user("tto@example.cn", "institution", institution)
    db.session.commit()
    auth.login(owner.email)
    assert "到期成果" in text(client.get("/use-first/"))
    review = use_first.pending_consents(institution.id)[0]
    bad = client.post(f"/use-first/{review.id}/decline", data={f"r{review.id}-reason": "不"})
    assert bad.status_code == 422 and "理由须为5到2000个字" in text(bad)
    ok = client.post(f"/use-first/{review.id}/consent")
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(outcome), outcome.id).use_first_state == "pooled"


def test_deal_page_drafts_terms_opens_notice_and_resolves_objection(
    broker_client, match, broker, make_deal
):
    deal = make_deal(match, "negotiating")
    db.session.commit()
    drafted = broker_client.post(
        f"/broker/deals/{deal.id}/terms", data={"profile_key": "zhuhai-2025", "mode": "use_first"}
    )
    assert drafted.status_code == 302
    bad = broker_client.post(f"/broker/deals/{deal.id}/notice", data={"price": "-1"})
    assert bad.status_code == 422 and 'data-field-error="price"' in text(bad)
    # The published price must be the term sheet's 合同成交额 (issue 18); blank takes it.
    other = broker_client.post(
        f"/broker/deals/{deal.id}/notice", data={"price": "500000", "method": "negotiated"}
    )
    assert other.status_code == 422 and "公示价格须与条款书一致" in text(other)
    opened = broker_client.post(
        f"/broker/deals/{deal.id}/notice",
        data={"price": "", "method": "negotiated", "office": "示例大学技术转移中心"},
    )
    assert opened.status_code == 302
    db.session.expire_all()
    notice = notices.current_notice(db.session.get(Deal, deal.id))
    sheet = terms.sheet_of(deals.current_sheet(db.session.get(Deal, deal.id)))
    assert notice.price_fen == sheet.value("contract_amount")
    assert notice.details["objection_office"] == "示例大学技术转移中心"
    assert notice.details["price_parts"][0] == ["入门费（零门槛费）", "0.00元"]
    objection = notices.file_objection(
        notice, "张三", "13800000000", "价格依据不足，请公开评估报告。"
    )
    db.session.commit()
    page = text(broker_client.get(f"/broker/deals/{deal.id}"))
    assert "价格依据不足" in page and "公示期未满" in page and "查看和修改条款书" in page
    prefix = f"o{objection.id}"
    missing = broker_client.post(
        f"/broker/objections/{objection.id}/resolve", data={f"{prefix}-note": "短"}
    )
    assert missing.status_code == 422 and "请选择处理结果" in text(missing)
    done = broker_client.post(
        f"/broker/objections/{objection.id}/resolve",
        data={f"{prefix}-decision": "dismissed", f"{prefix}-note": "评估报告已在附件公开"},
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Objection, objection.id).status == "dismissed"


def test_broker_reviews_use_first_reasons_on_a_page(
    broker_client, create_user, institution, create_outcome
):
    from datetime import date

    from models import UseFirstReview

    outcome = create_outcome("到期成果", granted_on=date(2018, 1, 1))
    use_first.sweep_use_first(date(2025, 1, 1))
    review = db.session.scalar(
        select(UseFirstReview).where(UseFirstReview.outcome_id == outcome.id)
    )
    owner = create_user("tto-r@example.cn", "institution", institution)
    use_first.decline(review, owner, "正在与企业谈判实施许可")
    db.session.commit()
    page = text(broker_client.get("/broker/use-first-reasons"))
    assert "正在与企业谈判实施许可" in page and "到期即转理由审核" in page
    prefix = f"u{review.id}"
    bad = broker_client.post(
        f"/broker/use-first-reasons/{review.id}", data={f"{prefix}-note": "短"}
    )
    assert bad.status_code == 422 and "请选择审核结果" in text(bad)
    ok = broker_client.post(
        f"/broker/use-first-reasons/{review.id}",
        data={f"{prefix}-decision": "rejected", f"{prefix}-note": "未见谈判记录，理由不成立"},
    )
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(UseFirstReview, review.id).state == "pending_consent"
