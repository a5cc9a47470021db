"""到期即转 eligibility and the 协议定价＋公示 window, with the clock passed in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from licensing_support import POLICY_DIR, outcome, patent, profile

from market.licensing import (
    NoticeFacts,
    WindowError,
    can_sign,
    due_for_use_first,
    load_profile,
    notice_closes_at,
    notice_days,
    notice_window,
)

GRANTED = date(2020, 6, 15)
CST = timezone(timedelta(hours=8))


def facts(**overrides):
    values = {"patents": (patent(granted_on=GRANTED),), "fiscal_funded": True}
    values.update(overrides)
    return outcome(**values)


def test_due_exactly_five_years_after_grant() -> None:
    zhuhai = profile("zhuhai-2025")
    assert not due_for_use_first(facts(), zhuhai, date(2025, 6, 14))
    decision = due_for_use_first(facts(), zhuhai, date(2025, 6, 15))
    assert decision and decision.ok
    assert "满5年" in decision.reason
    assert "措施8" in decision.source


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"fiscal_funded": False}, "非财政资助"),
        ({"implemented": True}, "已有实施记录"),
        ({"in_use_first_pool": True}, "已在先用后转成果池"),
        ({"patents": (patent(granted_on=GRANTED, in_force=False),)}, "无已授权且有效"),
        ({"patents": (patent(granted_on=None),)}, "无已授权且有效"),
    ],
)
def test_not_due_with_reason(overrides: dict, reason: str) -> None:
    decision = due_for_use_first(facts(**overrides), profile("zhuhai-2025"), date(2030, 1, 1))
    assert not decision
    assert reason in decision.reason


def test_earliest_live_grant_counts() -> None:
    two = (patent("A", granted_on=date(2023, 1, 1)), patent("B", granted_on=date(2019, 1, 1)))
    assert due_for_use_first(facts(patents=two), profile("national-open-licence"), date(2024, 1, 1))


def test_leap_day_grant_becomes_due_on_28_february() -> None:
    leap = facts(patents=(patent(granted_on=date(2020, 2, 29)),))
    national = profile("national-open-licence")
    assert not due_for_use_first(leap, national, date(2025, 2, 27))
    assert due_for_use_first(leap, national, date(2025, 2, 28))


def test_a_three_year_profile(tmp_path: Path) -> None:
    (tmp_path / "national-open-licence.toml").write_bytes(
        (POLICY_DIR / "national-open-licence.toml").read_bytes()
    )
    (tmp_path / "jiashan.toml").write_text(
        """key = "jiashan"
name = "嘉善"
extends = "national-open-licence"
[rules.use_first_pool_after_years]
label = "到期即转年限"
check = "param"
unit = "years"
value = 3
citation = { document = "浙江嘉善实践", article = "到期即转" }
""",
        encoding="utf-8",
    )
    jiashan = load_profile(tmp_path / "jiashan.toml")
    assert due_for_use_first(facts(), jiashan, date(2023, 6, 15))
    assert not due_for_use_first(facts(), profile("zhuhai-2025"), date(2023, 6, 15))


def test_notice_window_is_fifteen_days() -> None:
    opened = datetime(2026, 3, 1, 10, 0, tzinfo=CST)
    assert notice_days(profile("zhuhai-2025")) == 15
    # 民法典 第二百零一条: the opening day does not count; 第二百零三条: the period ends at
    # 24:00 of its last day (the old window ended at the opening's clock time on 03-16).
    assert notice_closes_at(opened, profile("zhuhai-2025")) == datetime(
        2026, 3, 17, 0, 0, tzinfo=CST
    )
    assert notice_closes_at(opened, profile("zhuhai-2025"), days=16) == datetime(
        2026, 3, 18, 0, 0, tzinfo=CST
    )  # a sheet's longer notice_days is honoured
    assert notice_closes_at(opened, profile("zhuhai-2025"), days=5) == datetime(
        2026, 3, 17, 0, 0, tzinfo=CST
    )  # never shorter than the profile


@pytest.mark.parametrize(
    ("opened_on", "last_day", "why"),
    [
        (date(2026, 9, 20), date(2026, 10, 8), "国庆节"),  # day 15 is 10-05, inside the holiday
        (date(2026, 1, 31), date(2026, 2, 24), "春节"),  # 02-15 to 02-23 off
        (date(2026, 3, 6), date(2026, 3, 23), "法定休假日"),  # a Saturday moves to Monday
        (date(2026, 3, 1), date(2026, 3, 16), ""),
    ],
)
def test_notice_window_extends_past_statutory_rest_days(
    opened_on: date, last_day: date, why: str
) -> None:
    window = notice_window(datetime.combine(opened_on, time(10, 0), CST), 15)
    assert window.first_day == opened_on + timedelta(days=1)
    assert window.last_day == last_day
    assert window.closes_at == datetime.combine(last_day + timedelta(days=1), time(0), CST)
    assert window.extended is bool(why)
    assert why in window.explanation() and "第二百零三条" in window.explanation()
    assert window.holiday_data


def test_a_make_up_working_day_is_not_a_rest_day() -> None:
    # 2026-02-14 (a Saturday) is a 调休 working day before the Spring Festival.
    window = notice_window(datetime(2026, 1, 30, 10, 0, tzinfo=CST), 15)
    assert window.nominal_last_day == date(2026, 2, 14) and window.last_day == date(2026, 2, 14)


def test_years_without_holiday_data_fall_back_to_weekends_and_say_so() -> None:
    window = notice_window(datetime(2028, 2, 29, 9, 0, tzinfo=CST), 15)
    assert window.last_day == date(2028, 3, 15) and not window.holiday_data
    assert "尚未收录" in window.explanation()
    saturday = notice_window(datetime(2028, 3, 3, 9, 0, tzinfo=CST), 15)  # day 15: Sat 03-18
    assert saturday.last_day == date(2028, 3, 20)


def test_notice_window_follows_a_stricter_profile(tmp_path: Path) -> None:
    (tmp_path / "strict.toml").write_text(
        """key = "strict"
name = "严格"
[rules.notice]
label = "公示期"
check = "bounds"
field = "notice_days"
unit = "days"
bounds = { min = 30 }
citation = { document = "某文件", article = "第十条" }
""",
        encoding="utf-8",
    )
    assert notice_days(load_profile(tmp_path / "strict.toml")) == 30


def test_naive_times_are_refused() -> None:
    with pytest.raises(WindowError):
        notice_closes_at(datetime(2026, 3, 1, 10, 0), profile("zhuhai-2025"))
    notice = NoticeFacts(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 16, tzinfo=UTC))
    with pytest.raises(WindowError):
        can_sign(notice, datetime(2026, 3, 20))


def test_can_sign_only_after_the_window_without_open_objections() -> None:
    opened = datetime(2026, 3, 1, 10, 0, tzinfo=CST)
    closes = notice_closes_at(opened, profile("zhuhai-2025"))
    notice = NoticeFacts(opened, closes)
    assert can_sign(notice, closes - timedelta(seconds=1))[0] is False
    ok, reason = can_sign(notice, closes)
    assert ok and "可以签约" in reason
    # Same instant expressed in UTC.
    assert can_sign(notice, closes.astimezone(UTC))[0] is True
    objected = NoticeFacts(opened, closes, open_objections=2)
    assert can_sign(objected, closes + timedelta(days=3)) == (False, "尚有2项异议未处理")
    withdrawn = NoticeFacts(opened, closes, withdrawn=True)
    assert can_sign(withdrawn, closes + timedelta(days=3))[0] is False


def test_notice_facts_validation() -> None:
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(WindowError):
        NoticeFacts(moment, moment)
    with pytest.raises(WindowError):
        NoticeFacts(moment, moment + timedelta(days=1), open_objections=-1)


@pytest.mark.parametrize("key", ["zhuhai-2025", "national-open-licence", "shenzhen-2021"])
@pytest.mark.parametrize(
    ("overrides", "due"),
    [
        ({}, True),  # patents and no research type stated: 应用技术 by default
        ({"research_type": "applied"}, True),
        ({"research_type": "basic"}, False),
        ({"research_type": "other"}, False),
        ({"owner_kind": "institute"}, True),
        ({"owner_kind": "hospital"}, True),
        ({"owner_kind": "enterprise"}, False),
        ({"owner_kind": "enterprise", "owner_state_owned": True}, True),
        ({"owner_kind": "service"}, False),
    ],
)
def test_pool_scope_research_type_and_owner(key: str, overrides: dict, due: bool) -> None:
    decision = due_for_use_first(facts(**overrides), profile(key), date(2030, 1, 1))
    assert bool(decision) is due, decision.reason
    assert "use_first_pool" in decision.source


def test_pool_scope_reasons_and_sources() -> None:
    zhuhai, national = profile("zhuhai-2025"), profile("national-open-licence")
    basic = due_for_use_first(facts(research_type="basic"), zhuhai, date(2030, 1, 1))
    assert "研究类型为基础研究" in basic.reason and "应用技术" in basic.reason
    assert "措施8" in basic.source and "use_first_pool_scope" in basic.source
    private = due_for_use_first(facts(owner_kind="enterprise"), zhuhai, date(2030, 1, 1))
    assert "非国有企业" in private.reason
    elsewhere = due_for_use_first(facts(research_type="basic"), national, date(2030, 1, 1))
    assert "平台规则" in elsewhere.source and "措施8" in elsewhere.source
    rule = zhuhai.rule("use_first_pool_scope")
    assert rule.citation.article == "措施8" and "应用技术类" in rule.citation.excerpt
    assert national.rule("use_first_pool_scope").citation.document.startswith("平台规则")


def test_no_patent_and_no_research_type_is_not_applied() -> None:
    assert outcome(patents=()).effective_research_type is None
    assert outcome(patents=(), research_type="applied").effective_research_type == "applied"
