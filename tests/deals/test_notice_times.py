"""公示 pages show the window in Beijing time; the countdown still counts from UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from market.formatting import localtime
from market.services import notices
from models import db


def test_notice_pages_show_beijing_time(client, match, broker, make_deal, monkeypatch):
    deal = make_deal(match, "negotiating")
    opened = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 2026-03-02 00:30 in Beijing
    notice = notices.open_notice(deal, 50_000_000, "negotiated", broker, now=opened)
    db.session.commit()
    monkeypatch.setattr(notices, "utcnow", lambda: opened + timedelta(days=1, hours=3))
    body = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    window = body.split("公示期", 1)[1].split("剩余时间", 1)[0]
    assert f"2026-03-02 00:30 — {localtime(notice.closes_at)}（北京时间）" in window
    assert localtime(notice.closes_at).endswith("00:30") and "UTC" not in window
    left = notice.closes_at - (opened + timedelta(days=1, hours=3))
    assert f"剩余 {left.days} 天 {left.seconds // 3600} 小时" in body
    listing = client.get("/notices/").get_data(as_text=True)
    assert f"2026-03-02 — {localtime(notice.closes_at)}" in listing
