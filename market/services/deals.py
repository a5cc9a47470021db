"""Broker work: the proposal review queue, accept/reject, the deal pipeline with its allowed
moves and SLA timers, the reward ledger and the 标杆案例 drafted on signing. Flushes only."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from market.licensing.formatting import percent, yuan
from market.policy import require
from market.queries.listings import Page
from models import (
    BenchmarkCase,
    Conflict,
    Deal,
    DealEvent,
    DealSubsidy,
    Demand,
    IntroRequest,
    Match,
    Outcome,
    RewardShare,
    User,
    ValidationError,
    db,
    utcnow,
)
from models.enums import COOPERATION_MODES, DEAL_STAGES, N_, REJECTION_REASONS

from ..urls import page_number
from . import audit, notices, terms
from .deal_state import current_sheet, deal_profile_key, record_move

log = logging.getLogger(__name__)

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "reviewed": ("introduced", "lost"),
    "introduced": ("negotiating", "lost"),
    "negotiating": ("notice", "lost"),
    "notice": ("signed", "negotiating", "lost"),
    "signed": ("registered",),
    "registered": (),
    "lost": (),
}
PIPELINE = ("reviewed", "introduced", "negotiating", "notice", "signed", "registered", "lost")
DEFAULT_SLA_DAYS = {"reviewed": 7, "introduced": 14, "negotiating": 30, "notice": 20, "signed": 30}
QUEUE_SORTS = {
    "score": N_("评分从高到低"),
    "complexity": N_("复杂度从低到高"),
    "age": N_("等待时间最长"),
}
COMPLEXITY_BANDS = {
    "low": ("简单", 0.0, 0.4),
    "mid": ("一般", 0.4, 0.8),
    "high": ("复杂", 0.8, 99.0),
}
REWARD_FIELD = "broker_reward_share"
TAKEN = "该推荐已由其他经纪人处理（{stage}），请返回队列选择其他推荐"


# -- review queue ------------------------------------------------------------------------------


@dataclass
class QueueFilter:
    field: str = ""
    region: str = ""
    min_score: float | None = None
    complexity: str = ""
    sort: str = "score"
    intro_only: bool = False
    page: int = 1
    per_page: int = 20

    @classmethod
    def from_args(cls, args, per_page: int = 20) -> QueueFilter:
        return cls(
            field=(args.get("field") or "").strip()[:40],
            region=(args.get("region") or "").strip()[:32],
            min_score=_float_or_none(args.get("min_score")),
            complexity=args.get("complexity") if args.get("complexity") in COMPLEXITY_BANDS else "",
            sort=args.get("sort") if args.get("sort") in QUEUE_SORTS else "score",
            intro_only=args.get("intro") == "1",
            page=page_number(args.get("page")),
            per_page=per_page,
        )


def _float_or_none(raw: Any) -> float | None:
    try:
        return max(0.0, min(1.0, float(raw)))
    except (TypeError, ValueError):
        return None


def review_queue(flt: QueueFilter) -> Page:
    """Open proposals for brokers, filtered and ordered by score, complexity or age."""
    stmt = (
        select(Match)
        .join(Match.demand)
        .join(Match.outcome)
        .where(Match.stage == "proposed")
        .options(joinedload(Match.demand), joinedload(Match.outcome))
    )
    if flt.field:
        stmt = stmt.where(or_(Demand.field == flt.field, Outcome.field == flt.field))
    if flt.region:
        stmt = stmt.where(or_(Demand.province == flt.region, Demand.city == flt.region))
    if flt.min_score is not None:
        stmt = stmt.where(Match.score >= flt.min_score)
    if flt.intro_only:
        waiting = select(IntroRequest.match_id).where(IntroRequest.state == "requested")
        stmt = stmt.where(Match.id.in_(waiting))
    if flt.complexity:
        _, low, high = COMPLEXITY_BANDS[flt.complexity]
        stmt = stmt.where(Match.complexity >= low, Match.complexity < high)
    order = {
        "score": (Match.score.desc(), Match.complexity, Match.created_at),
        "complexity": (Match.complexity, Match.score.desc(), Match.created_at),
        "age": (Match.created_at, Match.score.desc()),
    }[flt.sort]
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(
        stmt.order_by(*order, Match.id).offset((flt.page - 1) * flt.per_page).limit(flt.per_page)
    ).unique()
    return Page(list(rows), total or 0, flt.page, flt.per_page)


def queue_fields() -> list[str]:
    stmt = select(Demand.field).join(Match, Match.demand_id == Demand.id)
    stmt = stmt.where(Match.stage == "proposed", Demand.field.is_not(None)).distinct()
    return sorted(db.session.scalars(stmt))


def queue_regions() -> list[str]:
    stmt = select(Demand.province).join(Match, Match.demand_id == Demand.id)
    stmt = stmt.where(Match.stage == "proposed", Demand.province.is_not(None)).distinct()
    return sorted(db.session.scalars(stmt))


# -- decisions ---------------------------------------------------------------------------------


def decision_features(match: Match, decision: str, reason: str | None = None) -> dict[str, Any]:
    """What the broker saw when deciding: kept on the Match as training signal."""
    return {
        "decision": decision,
        "reason": reason,
        "score": match.score,
        "rank": match.rank,
        "complexity": match.complexity,
        "components": dict(match.components or {}),
        "model_version": match.model_version,
        "constraints": [
            c.get("code")
            for c in (match.explanation or {}).get("constraints", [])
            if not c.get("ok")
        ],
        "indicators": [i.get("status") for i in (match.explanation or {}).get("indicators", [])],
    }


def _claim(match: Match, user: User, expected_version: int | None) -> None:
    require(user, "match.review", match)
    if match.stage != "proposed":
        raise Conflict(TAKEN.format(stage=match.stage_label))
    if expected_version is not None and expected_version != match.version_id:
        raise Conflict(TAKEN.format(stage="推荐内容已更新"))


def _flush_decision() -> None:
    try:
        db.session.flush()
    except (StaleDataError, IntegrityError) as e:
        raise Conflict(TAKEN.format(stage="刚刚被处理")) from e


def accept_match(
    match: Match,
    user: User,
    expected_version: int | None = None,
    comment: str = "",
    *,
    now: datetime | None = None,
) -> Deal:
    """Accept a proposal: it becomes a Deal at stage "reviewed". Conflict if someone was first."""
    _claim(match, user, expected_version)
    now = now or utcnow()
    match.stage, match.broker_id = "accepted", user.id
    match.comment = (comment or "").strip()[:2000] or None
    match.decision_features = decision_features(match, "accepted")
    match.decided_at = now
    _flush_decision()
    deal = Deal(
        match_id=match.id, stage="reviewed", broker_id=user.id, stage_changed_at=now, created_at=now
    )
    deal.events.append(
        DealEvent(
            from_stage="proposed", to_stage="reviewed", user_id=user.id, note=match.comment, at=now
        )
    )
    db.session.add(deal)
    _flush_decision()
    audit.record(user.id, "match.accept", match, after={"deal": deal.id, "comment": match.comment})
    return deal


def reject_match(
    match: Match, user: User, reason: str, comment: str = "", expected_version: int | None = None
) -> Match:
    if reason not in REJECTION_REASONS:
        raise ValidationError(N_("请选择拒绝原因"), "reason")
    comment = (comment or "").strip()
    if reason == "other" and not comment:
        raise ValidationError(N_("选择“其他”时请写明原因"), "comment")
    _claim(match, user, expected_version)
    match.stage, match.broker_id, match.rejection_reason = "rejected", user.id, reason
    match.comment = comment[:2000] or None
    match.decision_features = decision_features(match, "rejected", reason)
    match.decided_at = utcnow()
    _flush_decision()
    audit.record(user.id, "match.reject", match, after={"reason": reason, "comment": comment})
    return match


# -- pipeline ----------------------------------------------------------------------------------


def allowed_moves(deal: Deal) -> list[str]:
    """Moves a broker can make from the deal page (公示 opens through its own form)."""
    return [s for s in TRANSITIONS[deal.stage] if s != "notice"]


def move_deal(
    deal: Deal,
    to_stage: str,
    user: User,
    note: str = "",
    *,
    now: datetime | None = None,
    registration_no: str = "",
    expected_version: int | None = None,
) -> Deal:
    """Move a deal along the pipeline; refuses moves the pipeline does not allow."""
    require(user, "deal.move", deal)
    now = now or utcnow()
    if expected_version is not None and expected_version != deal.version_id:
        raise Conflict(N_("该项目已被他人更新，请刷新后重试"))
    if to_stage not in DEAL_STAGES:
        raise ValidationError(N_("未知的阶段：%(to_stage)s"), "to_stage", to_stage=to_stage)
    if to_stage not in TRANSITIONS[deal.stage]:
        raise ValidationError(
            N_("不能从“%(stage_label)s”直接转到“%(value)s”"),
            "to_stage",
            stage_label=deal.stage_label,
            value=DEAL_STAGES[to_stage],
        )
    note = (note or "").strip()[:2000]
    _check_move(deal, to_stage, note, registration_no, now)
    if to_stage == "notice":
        raise ValidationError(N_("请填写成交价格，通过“发起公示”进入公示阶段"), "to_stage")
    if deal.stage == "notice":
        notices.withdraw_open(deal, user, now)
    _apply_move_effects(deal, to_stage, note, registration_no, user, now)
    record_move(deal, to_stage, user, note or None, now)
    _flush_deal()
    return deal


def _check_move(deal: Deal, to_stage: str, note: str, registration_no: str, now) -> None:
    if to_stage == "lost" and not note:
        raise ValidationError(N_("终止项目须写明原因"), "note")
    if to_stage == "signed":
        ok, reason = notices.signing_decision(deal, now)
        if not ok:
            raise ValidationError(N_("暂不能签约：%(reason)s"), "to_stage", reason=reason)
    if to_stage == "registered" and not registration_no.strip():
        raise ValidationError(N_("请填写技术合同登记号"), "registration_no")


def _apply_move_effects(
    deal: Deal, to_stage: str, note: str, registration_no: str, user: User, now: datetime
) -> None:
    if to_stage == "lost":
        deal.lost_reason = note
    elif to_stage == "signed":
        draft_case(deal, user, now=now)
    elif to_stage == "registered":
        deal.contract_registration_no = registration_no.strip()[:64]


def _flush_deal() -> None:
    try:
        db.session.flush()
    except StaleDataError as e:
        raise Conflict(N_("该项目已被他人更新，请刷新后重试")) from e


@dataclass(frozen=True)
class Sla:
    days: int
    limit: int | None

    @property
    def overdue(self) -> bool:
        return self.limit is not None and self.days > self.limit


def sla_days() -> dict[str, int]:
    return {**DEFAULT_SLA_DAYS, **(current_app.config.get("DEAL_SLA_DAYS") or {})}


def sla(deal: Deal, now: datetime | None = None) -> Sla:
    """Days the deal has spent in its stage, and the stage's limit (configurable)."""
    now = now or utcnow()
    return Sla((now - deal.stage_changed_at).days, sla_days().get(deal.stage))


def deal_board(now: datetime | None = None, lost_limit: int = 20) -> dict[str, list]:
    """Deals per pipeline column with their SLA, oldest in stage first."""
    now = now or utcnow()
    stmt = select(Deal).options(
        joinedload(Deal.match).joinedload(Match.outcome),
        joinedload(Deal.match).joinedload(Match.demand),
    )
    board: dict[str, list] = {stage: [] for stage in PIPELINE}
    for deal in db.session.scalars(stmt.order_by(Deal.stage_changed_at)).unique():
        board[deal.stage].append((deal, sla(deal, now)))
    board["lost"] = board["lost"][-lost_limit:]
    return board


# -- rewards (广东 意见 28) -----------------------------------------------------------------------


def reward_rule(deal: Deal):
    """The strictest rule capping broker rewards as a share of the service subsidy."""
    profile = terms.get_profile(deal_profile_key(deal))
    rules = [
        r
        for r in profile.rules.values()
        if r.field == REWARD_FIELD and r.bounds and r.bounds[1] is not None and r.kind == "policy"
    ]
    return min(rules, key=lambda r: r.bounds[1], default=None)


def set_subsidy(deal: Deal, amount_fen: int, user: User) -> DealSubsidy:
    require(user, "deal.reward", deal)
    if amount_fen is None or amount_fen < 0:
        raise ValidationError(N_("服务补助金额不能为负数"), "amount")
    row = db.session.get(DealSubsidy, deal.id) or DealSubsidy(deal_id=deal.id)
    before = row.amount_fen
    total = rewards_total(deal)
    rule = reward_rule(deal)
    if rule is not None and total > amount_fen * rule.bounds[1] // 10000:
        raise ValidationError(_cap_message(rule, total, amount_fen), "amount")
    row.amount_fen, row.profile_key, row.entered_by = amount_fen, deal_profile_key(deal), user.id
    db.session.add(row)
    db.session.flush()
    audit.record(
        user.id, "deal.subsidy", deal, before={"subsidy": before}, after={"subsidy": amount_fen}
    )
    return row


def rewards_total(deal: Deal) -> int:
    stmt = select(func.coalesce(func.sum(RewardShare.amount_fen), 0))
    return int(db.session.scalar(stmt.where(RewardShare.deal_id == deal.id)) or 0)


def rewards(deal: Deal) -> list[RewardShare]:
    stmt = select(RewardShare).where(RewardShare.deal_id == deal.id)
    return list(db.session.scalars(stmt.order_by(RewardShare.created_at, RewardShare.id)))


def add_reward(deal: Deal, recipient: User, amount_fen: int, note: str, user: User) -> RewardShare:
    """Record a reward share; the total may not pass the profile's cap on the subsidy."""
    require(user, "deal.reward", deal)
    if amount_fen is None or amount_fen <= 0:
        raise ValidationError(N_("奖励金额须大于0"), "amount")
    subsidy = db.session.get(DealSubsidy, deal.id)
    if subsidy is None:
        raise ValidationError(N_("请先录入该项目获得的技术转移服务补助金额"), "amount")
    total = rewards_total(deal) + amount_fen
    rule = reward_rule(deal)
    if rule is not None and total > subsidy.amount_fen * rule.bounds[1] // 10000:
        raise ValidationError(_cap_message(rule, total, subsidy.amount_fen), "amount")
    share = RewardShare(
        deal_id=deal.id, user_id=recipient.id, amount_fen=amount_fen, note=note[:200] or None
    )
    db.session.add(share)
    db.session.flush()
    audit.record(user.id, "deal.reward", deal, after={"to": recipient.id, "amount_fen": amount_fen})
    return share


def _cap_message(rule, total: int, subsidy: int) -> str:
    cap = subsidy * rule.bounds[1] // 10000
    return (
        f"奖励合计{yuan(total)}超过上限{yuan(cap)}：按“{rule.label}”，奖励不得超过服务补助"
        f"{yuan(subsidy)}的{percent(rule.bounds[1])}（依据：{rule.citation}；"
        f"规则 {rule.profile_key}/{rule.id}）"
    )


# -- 标杆案例 ------------------------------------------------------------------------------------


def draft_case(deal: Deal, user: User, *, now: datetime | None = None) -> BenchmarkCase:
    """A signed deal drafts a benchmark case (unpublished until an admin publishes it)."""
    existing = db.session.scalar(select(BenchmarkCase).where(BenchmarkCase.deal_id == deal.id))
    if existing is not None:
        return existing
    outcome, demand = deal.match.outcome, deal.match.demand
    buyer = demand.organization.name if demand.confidentiality == "public" else "一家企业"
    sheet = current_sheet(deal)
    mode = COOPERATION_MODES.get(sheet.mode, sheet.mode) if sheet else "技术合同"
    price = f"，成交价{yuan(deal.price_fen)}" if deal.price_fen is not None else ""
    case = BenchmarkCase(
        deal_id=deal.id,
        created_at=now or utcnow(),
        title=f"{outcome.title[:120]}落地应用",
        summary=(
            f"{outcome.organization.name}的科技成果“{outcome.title}”以{mode}方式"
            f"由{buyer}实施{price}，经协议定价并公示后签约。"
        ),
    )
    db.session.add(case)
    audit.record(user.id, "case.draft", deal, after={"title": case.title})
    return case
