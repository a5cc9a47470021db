"""协议定价＋公示: a negotiated price is published for a window before signing; anyone may object
and a broker resolves each objection. Flushes only; the clock is passed in for tests."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from market import licensing
from market.policy import require
from market.queries.listings import Page
from models import Conflict, Deal, Notice, Objection, User, ValidationError, db, utcnow

from . import audit, terms

log = logging.getLogger(__name__)

METHODS = {"negotiated": "协议定价", "listed": "挂牌交易", "auction": "拍卖"}
RESOLUTIONS = {"upheld": "异议成立", "dismissed": "异议不成立"}
OBJECTION_STATES = {"open": "待处理", **RESOLUTIONS}
NOTICE_STATES = {"open": "公示中", "closed": "公示期满", "withdrawn": "已撤回"}


def open_notice(
    deal: Deal, price_fen: int, method: str, user: User, now: datetime | None = None
) -> Notice:
    """Publish the agreed price; the deal moves to stage "notice" for the profile's window."""
    from .deals import deal_profile_key, record_move

    require(user, "notice.open", deal)
    now = now or utcnow()
    if deal.stage != "negotiating":
        raise ValidationError("只有“洽谈中”的项目可以发起公示", "price")
    if price_fen is None or price_fen < 0:
        raise ValidationError("请填写不为负数的成交价格", "price")
    if method not in METHODS:
        raise ValidationError("请选择定价方式", "method")
    profile = terms.get_profile(deal_profile_key(deal))
    outcome, demand = deal.match.outcome, deal.match.demand
    notice = Notice(
        deal_id=deal.id,
        outcome_title=outcome.title,
        parties=f"转让/许可方：{outcome.organization.name}；受让/被许可方：{demand.organization.name}",
        price_fen=price_fen,
        method=method,
        opens_at=now,
        closes_at=licensing.notice_closes_at(now, profile),
        status="open",
    )
    db.session.add(notice)
    deal.price_fen = price_fen
    record_move(deal, "notice", user, f"{METHODS[method]}公示，价格{price_fen / 100:,.2f}元", now)
    db.session.flush()
    audit.record(user.id, "notice.open", notice, after={"deal": deal.id, "price_fen": price_fen})
    return notice


def current_notice(deal: Deal) -> Notice | None:
    stmt = select(Notice).where(Notice.deal_id == deal.id, Notice.status != "withdrawn")
    return db.session.scalar(stmt.order_by(Notice.opens_at.desc(), Notice.id.desc()).limit(1))


def open_objections(notice: Notice) -> int:
    stmt = select(func.count()).where(Objection.notice_id == notice.id, Objection.status == "open")
    return int(db.session.scalar(stmt) or 0)


def signing_decision(deal: Deal, now: datetime) -> tuple[bool, str]:
    """Whether the deal may be signed: its notice ran the full window, no objection open."""
    notice = current_notice(deal)
    if notice is None:
        return False, "尚未完成协议定价公示"
    facts = licensing.NoticeFacts(
        opened_at=notice.opens_at,
        closes_at=notice.closes_at,
        open_objections=open_objections(notice),
        withdrawn=notice.status == "withdrawn",
    )
    return licensing.can_sign(facts, now)


def withdraw_open(deal: Deal, user: User, now: datetime) -> None:
    notice = current_notice(deal)
    if notice is not None and notice.status == "open":
        notice.status = "withdrawn"
        audit.record(user.id, "notice.withdraw", notice, after={"at": now})


def file_objection(
    notice: Notice, name: str, contact: str, text: str, now: datetime | None = None
) -> Objection:
    """Anyone may object while the window is open."""
    now = now or utcnow()
    if notice.status != "open" or now >= notice.closes_at:
        raise ValidationError("公示期已结束或公示已撤回，不再受理异议", "text")
    name, contact, text = (name or "").strip(), (contact or "").strip(), (text or "").strip()
    _require_length(name, "name", "姓名或单位", 1, 80)
    _require_length(contact, "contact", "联系方式", 5, 120)
    _require_length(text, "text", "异议内容", 10, 2000)
    objection = Objection(notice_id=notice.id, name=name, contact=contact, text=text, status="open")
    db.session.add(objection)
    db.session.flush()
    audit.record(None, "objection.file", objection, after={"notice": notice.id})
    return objection


def _require_length(value: str, field: str, label: str, low: int, high: int) -> None:
    if len(value) < low:
        raise ValidationError(f"请填写{label}" if low == 1 else f"{label}至少{low}个字", field)
    if len(value) > high:
        raise ValidationError(f"{label}不能超过{high}个字", field)


def resolve_objection(objection: Objection, decision: str, note: str, user: User) -> Objection:
    """Record the outcome of an objection; an upheld one withdraws the notice (re-negotiate)."""
    require(user, "notice.resolve_objection", objection)
    if objection.status != "open":
        raise Conflict("该异议已处理")
    if decision not in RESOLUTIONS:
        raise ValidationError("请选择处理结果", "decision")
    note = (note or "").strip()
    _require_length(note, "note", "处理说明", 5, 2000)
    objection.status, objection.resolution, objection.resolved_by = decision, note, user.id
    audit.record(user.id, "objection.resolve", objection, after={"status": decision, "note": note})
    if decision == "upheld":
        _reopen_negotiation(objection.notice, user)
    db.session.flush()
    return objection


def _reopen_negotiation(notice: Notice, user: User) -> None:
    from .deals import record_move

    deal = db.session.get(Deal, notice.deal_id) if notice.deal_id else None
    notice.status = "withdrawn"
    if deal is not None and deal.stage == "notice":
        record_move(deal, "negotiating", user, "异议成立，公示撤回，重新洽谈", utcnow())


def close_expired(now: datetime | None = None) -> int:
    """Mark notices whose window has ended (signing still checks objections)."""
    now = now or utcnow()
    stmt = select(Notice).where(Notice.status == "open", Notice.closes_at <= now)
    closed = 0
    for notice in db.session.scalars(stmt):
        notice.status = "closed"
        audit.record(None, "notice.close", notice, after={"at": now})
        closed += 1
    db.session.flush()
    return closed


@dataclass(frozen=True)
class Countdown:
    days: int
    hours: int
    ended: bool

    @property
    def text(self) -> str:
        if self.ended:
            return "公示期已结束"
        return f"剩余 {self.days} 天 {self.hours} 小时"


def countdown(notice: Notice, now: datetime | None = None) -> Countdown:
    now = now or utcnow()
    left = notice.closes_at - now
    if notice.status == "withdrawn" or left.total_seconds() <= 0:
        return Countdown(0, 0, True)
    return Countdown(left.days, left.seconds // 3600, False)


def public_notices(page: int = 1, per_page: int = 20) -> Page:
    """Notices for the public list: open ones first, then the most recent."""
    stmt = select(Notice).where(Notice.status != "withdrawn")
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    ordered = stmt.order_by((Notice.status == "open").desc(), Notice.opens_at.desc(), Notice.id)
    rows = db.session.scalars(ordered.offset((page - 1) * per_page).limit(per_page))
    return Page(list(rows), total or 0, page, per_page)


def objections_of(notice: Notice) -> list[Objection]:
    stmt = select(Objection).where(Objection.notice_id == notice.id)
    return list(db.session.scalars(stmt.order_by(Objection.created_at, Objection.id)))
