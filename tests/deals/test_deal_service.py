"""Broker decisions and the deal pipeline, called as services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.services import deals, notices
from models import (
    AuditLog,
    BenchmarkCase,
    Conflict,
    Deal,
    DealEvent,
    Forbidden,
    Match,
    ValidationError,
    db,
)

from .conftest import NOW


def test_accept_creates_reviewed_deal_with_event_and_training_signal(match, broker):
    deal = deals.accept_match(match, broker, match.version_id, "值得推进")
    assert deal.stage == "reviewed"
    assert [(e.from_stage, e.to_stage, e.user_id) for e in deal.events] == [
        ("proposed", "reviewed", broker.id)
    ]
    assert match.stage == "accepted" and match.broker_id == broker.id
    assert match.decision_features["decision"] == "accepted"
    assert match.decision_features["components"] == {"semantic": 0.7}
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.action == "match.accept"))


def test_reject_needs_a_known_reason_and_keeps_features(match, broker):
    with pytest.raises(ValidationError) as e:
        deals.reject_match(match, broker, "bogus")
    assert e.value.field == "reason"
    with pytest.raises(ValidationError):
        deals.reject_match(match, broker, "other", "")
    deals.reject_match(match, broker, "price_gap", "报价高出预算一倍")
    assert match.stage == "rejected" and match.rejection_label == "价格差距过大"
    assert match.decision_features["reason"] == "price_gap"
    assert db.session.scalar(select(Deal)) is None


def test_non_broker_cannot_accept(match, create_user, enterprise):
    user = create_user("boss@example.cn", "enterprise", enterprise)
    with pytest.raises(Forbidden):
        deals.accept_match(match, user)


def test_stale_version_is_a_conflict_and_writes_nothing(match, broker):
    with pytest.raises(Conflict) as e:
        deals.accept_match(match, broker, expected_version=match.version_id + 1)
    assert "其他经纪人" in e.value.message
    assert match.stage == "proposed"
    assert db.session.scalar(select(Deal)) is None


def test_second_broker_accepting_the_same_proposal_gets_a_conflict(match, broker, other_broker):
    db.session.commit()
    version = match.version_id
    with Session(db.engine) as other:
        theirs = other.get(Match, match.id)
        theirs.stage, theirs.broker_id = "accepted", other_broker.id
        other.add(Deal(match_id=theirs.id, stage="reviewed", broker_id=other_broker.id))
        other.commit()
    with pytest.raises(Conflict):
        deals.accept_match(match, broker, expected_version=version)
    db.session.rollback()
    assert db.session.scalars(select(Deal)).all()[0].broker_id == other_broker.id
    assert len(db.session.scalars(select(Deal)).all()) == 1


def test_accepting_twice_in_one_session_is_a_conflict(match, broker, other_broker):
    deals.accept_match(match, broker)
    with pytest.raises(Conflict):
        deals.accept_match(match, other_broker)


def test_allowed_moves_and_refused_jumps(match, broker, make_deal):
    deal = make_deal(match)
    with pytest.raises(ValidationError) as e:
        deals.move_deal(deal, "signed", broker, now=NOW)
    assert "不能从“已审核”直接转到“已签约”" in e.value.message
    deals.move_deal(deal, "introduced", broker, "已安排双方见面", now=NOW)
    deals.move_deal(deal, "negotiating", broker, now=NOW)
    with pytest.raises(ValidationError) as e:
        deals.move_deal(deal, "notice", broker, now=NOW)
    assert "发起公示" in e.value.message
    events = db.session.scalars(select(DealEvent).order_by(DealEvent.id)).all()
    assert [e.to_stage for e in events] == ["reviewed", "introduced", "negotiating"]
    assert events[1].note == "已安排双方见面" and events[1].user_id == broker.id


def test_lost_needs_a_reason_and_is_final(match, broker, make_deal):
    deal = make_deal(match)
    with pytest.raises(ValidationError) as e:
        deals.move_deal(deal, "lost", broker, "", now=NOW)
    assert e.value.field == "note"
    deals.move_deal(deal, "lost", broker, "企业预算取消", now=NOW)
    assert deal.lost_reason == "企业预算取消"
    with pytest.raises(ValidationError):
        deals.move_deal(deal, "reviewed", broker, now=NOW)


def test_sla_overdue_uses_configured_days(app, match, make_deal):
    deal = make_deal(match)
    deal.stage_changed_at = NOW
    assert not deals.sla(deal, NOW + timedelta(days=7)).overdue
    assert deals.sla(deal, NOW + timedelta(days=8)).overdue
    app.config["DEAL_SLA_DAYS"] = {"reviewed": 30}
    try:
        assert not deals.sla(deal, NOW + timedelta(days=8)).overdue
    finally:
        app.config.pop("DEAL_SLA_DAYS")


def test_reward_total_capped_at_thirty_percent_of_subsidy_naming_the_rule(match, broker, make_deal):
    deal = make_deal(match)
    with pytest.raises(ValidationError) as e:
        deals.add_reward(deal, broker, 1000, "", broker)
    assert "服务补助" in e.value.message
    deals.set_subsidy(deal, 1_000_000, broker)
    deals.add_reward(deal, broker, 200_000, "促成签约", broker)
    deals.add_reward(deal, broker, 100_000, "", broker)
    with pytest.raises(ValidationError) as e:
        deals.add_reward(deal, broker, 1, "", broker)
    assert "第28条" in e.value.message and "guangdong-2016/broker_reward_max" in e.value.message
    assert deals.rewards_total(deal) == 300_000
    with pytest.raises(ValidationError):
        deals.set_subsidy(deal, 999_999, broker)  # would put the recorded rewards over the cap


def test_signing_blocked_during_window_and_with_open_objection(match, broker, make_deal):
    deal = make_deal(match, "notice")
    notice = notices.current_notice(deal)
    # Opened 2026-03-01 17:00 Beijing: day 1 is 03-02, day 15 is 03-16, closing at its 24:00
    # (民法典 第二百零一、二百零三条; the old window closed at 17:00 on 03-16).
    assert notice.closes_at == datetime(2026, 3, 16, 16, 0, tzinfo=UTC)
    with pytest.raises(ValidationError) as e:
        deals.move_deal(deal, "signed", broker, now=NOW + timedelta(days=14))
    assert "公示期未满" in e.value.message
    objection = notices.file_objection(
        notice, "张三", "13800000000", "价格明显低于评估值，请复核。", now=NOW + timedelta(days=1)
    )
    with pytest.raises(ValidationError) as e:
        deals.move_deal(deal, "signed", broker, now=NOW + timedelta(days=16))
    assert "异议未处理" in e.value.message
    notices.resolve_objection(objection, "dismissed", "评估报告已公开，价格合理", broker)
    deals.move_deal(deal, "signed", broker, now=NOW + timedelta(days=16))
    assert deal.stage == "signed"
    case = db.session.scalar(select(BenchmarkCase))
    assert case.deal_id == deal.id and not case.published
    assert "钢结构裂纹智能检测系统" in case.summary


def test_upheld_objection_withdraws_notice_and_reopens_negotiation(match, broker, make_deal):
    deal = make_deal(match, "notice")
    notice = notices.current_notice(deal)
    objection = notices.file_objection(
        notice, "李四", "li@example.cn", "未披露共有权人，请核实。", now=NOW
    )
    notices.resolve_objection(objection, "upheld", "确有共有权人，需重新协商", broker)
    assert notice.status == "withdrawn" and deal.stage == "negotiating"
    ok, reason = notices.signing_decision(deal, NOW + timedelta(days=30))
    assert not ok and "尚未完成" in reason


def test_objection_refused_after_window(match, broker, make_deal):
    deal = make_deal(match, "notice")
    notice = notices.current_notice(deal)
    last_evening = datetime(2026, 3, 16, 15, 0, tzinfo=UTC)  # 23:00 Beijing time of day 15
    notices.file_objection(
        notice, "赵六", "zhao@example.cn", "最后一日晚间提出的异议。", last_evening
    )
    with pytest.raises(ValidationError):
        notices.file_objection(
            notice, "王五", "wang@example.cn", "这是一条迟到的异议。", notice.closes_at
        )
    with pytest.raises(ValidationError) as e:
        notices.file_objection(notice, "王五", "wang@example.cn", "短", NOW)
    assert e.value.field == "text"


def test_registration_needs_contract_number(match, broker, make_deal):
    deal = make_deal(match, "notice")
    deals.move_deal(deal, "signed", broker, now=NOW + timedelta(days=16))
    with pytest.raises(ValidationError) as e:
        deals.move_deal(deal, "registered", broker, now=NOW + timedelta(days=20))
    assert e.value.field == "registration_no"
    deals.move_deal(
        deal, "registered", broker, now=NOW + timedelta(days=20), registration_no="2026440400001"
    )
    assert deal.contract_registration_no == "2026440400001"


def test_review_queue_filters_and_orders(create_match, create_outcome, broker):
    high = create_match(score=0.9, complexity=0.9)
    low = create_match(score=0.5, complexity=0.1, outcome=create_outcome("另一项成果"))
    page = deals.review_queue(deals.QueueFilter())
    assert [m.id for m in page.items] == [high.id, low.id]
    page = deals.review_queue(deals.QueueFilter(sort="complexity"))
    assert [m.id for m in page.items] == [low.id, high.id]
    assert [m.id for m in deals.review_queue(deals.QueueFilter(min_score=0.6)).items] == [high.id]
    assert [m.id for m in deals.review_queue(deals.QueueFilter(complexity="low")).items] == [low.id]
    assert deals.review_queue(deals.QueueFilter(region="北京市")).total == 0
    deals.accept_match(high, broker)
    assert [m.id for m in deals.review_queue(deals.QueueFilter()).items] == [low.id]


def test_accept_and_sign_at_given_times(match, broker):
    """Services act at a passed time, so a deal's history can be recorded as it happened."""
    deal = deals.accept_match(match, broker, now=NOW - timedelta(days=30))
    assert match.decided_at == deal.created_at == deal.stage_changed_at == NOW - timedelta(days=30)
    assert [e.at for e in deal.events] == [NOW - timedelta(days=30)]
    deals.move_deal(deal, "introduced", broker, now=NOW - timedelta(days=29))
    deals.move_deal(deal, "negotiating", broker, now=NOW - timedelta(days=28))
    notices.open_notice(deal, 50_000_000, "negotiated", broker, now=NOW - timedelta(days=27))
    deals.move_deal(deal, "signed", broker, now=NOW)
    case = db.session.scalar(select(BenchmarkCase).where(BenchmarkCase.deal_id == deal.id))
    assert case.created_at == NOW and deal.stage_changed_at == NOW
