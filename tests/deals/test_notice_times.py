"""公示 pages show the window in Beijing time; the countdown still counts from UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from market.formatting import localtime
from market.services import notices
from models import ValidationError, db


def test_notice_pages_show_beijing_time(client, match, broker, make_deal, monkeypatch):
    deal = make_deal(match, "negotiating")
    opened = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 2026-03-02 00:30 in Beijing
    notice = notices.open_notice(deal, 50_000_000, "negotiated", broker, now=opened)
    db.session.commit()
    monkeypatch.setattr(notices, "utcnow", lambda: opened + timedelta(days=1, hours=3))
    body = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    window = body.split("公示期", 1)[1].split("剩余时间", 1)[0]
    assert f"2026-03-02 00:30 — {localtime(notice.closes_at)}（北京时间）" in window
    # Day 1 is 03-03 (the opening day does not count), day 15 is 03-17, closing at its 24:00.
    assert localtime(notice.closes_at) == "2026-03-18 00:00" and "UTC" not in window
    assert "自2026年3月3日起算15日，至2026年3月17日24时（北京时间）止" in body
    left = notice.closes_at - (opened + timedelta(days=1, hours=3))
    assert f"剩余 {left.days} 天 {left.seconds // 3600} 小时" in body
    listing = client.get("/notices/").get_data(as_text=True)
    assert f"2026-03-02 — {localtime(notice.closes_at)}" in listing


def _deal_with_sheet(match, broker, make_deal):
    from market.services import terms

    deal = make_deal(match, "negotiating")
    row = terms.draft_for_match(match, "zhuhai-2025", "use_first", broker)
    deal.term_sheet_id = row.id
    db.session.flush()
    return deal, row


def test_notice_publishes_the_sheets_price_make_up_and_objection_office(
    client, match, broker, make_deal
):
    from market.services import terms

    deal, row = _deal_with_sheet(match, broker, make_deal)
    row = terms.edit_terms(row, {"notice_days": 20}, broker, row.version_id)
    sheet = terms.sheet_of(row)
    opened = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)  # 09:00 Beijing
    notice = notices.open_notice(deal, None, "negotiated", broker, now=opened)
    db.session.commit()
    assert notice.price_fen == sheet.value("contract_amount")
    # The sheet's own 20 days: day 20 is Sat 03-21, so the window runs to Mon 03-23, 24:00.
    assert localtime(notice.closes_at) == "2026-03-24 00:00"
    body = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    for text in (
        "拟交易方式",
        "先用后转（协议定价）",
        "入门费（零门槛费）",
        "后转价格（转为转让）",
        "净销售额的3%",
        match.outcome.organization.name,
        "科技成果转化管理部门",
        "书面提出异议",
        "第二百零三条",
    ):
        assert text in body, text
    with pytest.raises(ValidationError) as e:
        notices.open_notice(deal, 1, "negotiated", broker, now=opened)
    assert e.value.field == "price"


def test_withdrawn_notice_stays_public_with_its_objections(client, match, broker, make_deal):
    deal = make_deal(match, "notice")
    notice = notices.current_notice(deal)
    objection = notices.file_objection(
        notice, "李四", "li@example.cn", "未披露共有权人，请核实。", now=notice.opens_at
    )
    notices.resolve_objection(objection, "upheld", "确有共有权人，需重新协商", broker)
    db.session.commit()
    assert notice.status == "withdrawn"
    page = client.get(f"/notices/{notice.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "已撤回" in body and "未披露共有权人" in body and "确有共有权人" in body
    assert "li@example.cn" not in body  # contacts stay private
    assert "提交异议" not in body
    listing = client.get("/notices/").get_data(as_text=True)
    assert f"/notices/{notice.id}" in listing and "已撤回" in listing
