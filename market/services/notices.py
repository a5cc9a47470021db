"""协议定价＋公示: a negotiated price is published for a window before signing; anyone may object
and a broker resolves each objection. Flushes only; the clock is passed in for tests."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from market import licensing
from market.licensing.formatting import percent, yuan
from market.policy import require
from market.queries.listings import Page
from models import Conflict, Deal, Notice, Objection, User, ValidationError, db, utcnow
from models.enums import COOPERATION_MODES, N_

from . import audit, terms
from .deal_state import current_sheet, deal_profile_key, record_move

log = logging.getLogger(__name__)

METHODS = {"negotiated": N_("协议定价"), "listed": N_("挂牌交易"), "auction": N_("拍卖")}
OBJECTION_PROCEDURE = (
    "公示期内，任何单位或个人均可在本页面或通过上列联系方式书面提出异议，写明异议理由和联系方式；"
    "异议受理部门核实后答复异议人。异议成立的，撤回本公示、重新协商定价；公示期满且异议均已处理，"
    "方可签订合同。"
)
RESOLUTIONS = {"upheld": N_("异议成立"), "dismissed": N_("异议不成立")}
OBJECTION_STATES = {"open": "待处理", **RESOLUTIONS}
NOTICE_STATES = {"open": N_("公示中"), "closed": N_("公示期满"), "withdrawn": N_("已撤回")}


def open_notice(
    deal: Deal,
    price_fen: int | None,
    method: str,
    user: User,
    now: datetime | None = None,
    *,
    office: str = "",
    contact: str = "",
) -> Notice:
    """Publish the agreed price; the deal moves to stage "notice" for the window the term sheet
    (else the profile) sets, counted per 民法典 第二百零一、二百零三条."""
    require(user, "notice.open", deal)
    now = now or utcnow()
    if deal.stage != "negotiating":
        raise ValidationError(N_("只有“洽谈中”的项目可以发起公示"), "price")
    if method not in METHODS:
        raise ValidationError(N_("请选择定价方式"), "method")
    row = current_sheet(deal)
    sheet = terms.sheet_of(row) if row is not None else None
    price_fen = _checked_price(sheet, price_fen, method)
    profile = terms.get_profile(deal_profile_key(deal))
    days = sheet.value("notice_days") if sheet is not None else None
    window = licensing.notice_window(now, max(days or 0, licensing.notice_days(profile)))
    outcome, demand = deal.match.outcome, deal.match.demand
    notice = Notice(
        deal_id=deal.id,
        outcome_title=outcome.title,
        parties=f"转让/许可方：{outcome.organization.name}；受让/被许可方：{demand.organization.name}",
        price_fen=price_fen,
        method=method,
        opens_at=now,
        closes_at=window.closes_at,
        status="open",
        details=notice_details(deal, sheet, window, method, office, contact, user),
    )
    db.session.add(notice)
    deal.price_fen = price_fen
    record_move(deal, "notice", user, f"{METHODS[method]}公示，价格{price_fen / 100:,.2f}元", now)
    db.session.flush()
    audit.record(user.id, "notice.open", notice, after={"deal": deal.id, "price_fen": price_fen})
    return notice


def _checked_price(sheet, price_fen: int | None, method: str) -> int:
    """The published price: the term sheet's 合同成交额 when the deal has a sheet."""
    if sheet is None:
        if price_fen is None or price_fen < 0:
            raise ValidationError(N_("请填写不为负数的成交价格"), "price")
        return price_fen
    agreed = sheet.value("contract_amount")
    if price_fen is not None and price_fen != agreed:
        raise ValidationError(
            N_(
                "公示价格须与条款书一致：条款书第%(version)s版的合同成交额为%(value)s，填写的是%(value2)s"
            ),
            "price",
            version=sheet.version,
            value=yuan(agreed),
            value2=yuan(price_fen),
        )
    sheet_method = sheet.value("pricing_method")
    if method != sheet_method:
        raise ValidationError(
            N_("定价方式须与条款书一致（条款书为“%(value)s”）"),
            "method",
            value=METHODS[sheet_method],
        )
    return agreed


def notice_details(
    deal: Deal,
    sheet,
    window: licensing.NoticeWindow,
    method: str,
    office: str,
    contact: str,
    user: User,
) -> dict:
    """What the notice publishes besides the name and price."""
    outcome = deal.match.outcome
    publisher = outcome.organization.name
    mode = COOPERATION_MODES.get(sheet.mode, sheet.mode) if sheet is not None else ""
    return {
        "transaction": f"{mode}（{METHODS[method]}）" if mode else METHODS[method],
        "price_parts": price_parts(sheet) if sheet is not None else [],
        "royalty": royalty_text(sheet) if sheet is not None else "",
        "patents": [p.number for p in outcome.patents],
        "completers": (outcome.team or "").strip(),
        "publisher": publisher,
        "objection_office": (office or "").strip()[:120] or f"{publisher}科技成果转化管理部门",
        "objection_contact": (contact or "").strip()[:120] or user.email,
        "objection_procedure": OBJECTION_PROCEDURE,
        "window": window.explanation(),
        "notice_days": window.days,
        "term_sheet_version": sheet.version if sheet is not None else None,
    }


def price_parts(sheet) -> list[list[str]]:
    """The price's make-up, one [label, amount] row each (零门槛费, milestones, instalments,
    后转价格): their sum is the price published."""
    rows = [
        ["入门费" if sheet.mode != "use_first" else "入门费（零门槛费）", sheet.value("entry_fee")]
    ]
    for m in sheet.milestones:
        event = licensing.ENUM_LABELS["milestone_event"][m.event]
        if m.threshold is not None:
            event = f"{event}（{yuan(m.threshold.value)}）"
        rows.append([f"里程碑：{event}", m.amount.value])
    for i, inst in enumerate(sheet.deferred_schedule, start=1):
        rows.append([f"延期支付第{i}期（{inst.due_on.value.isoformat()}）", inst.amount.value])
    if sheet.value("conversion_price") is not None:
        rows.append(["后转价格（转为转让）", sheet.value("conversion_price")])
    if sheet.value("equity_value") is not None:
        rows.append(["作价出资金额（折算股份）", sheet.value("equity_value")])
    return [[label, yuan(amount)] for label, amount in rows]


def royalty_text(sheet) -> str:
    base = sheet.value("royalty_base")
    if base == "none":
        return "无提成"
    label = licensing.ENUM_LABELS["royalty_base"][base]
    text = f"{label}的{percent(sheet.value('royalty_rate'))}"
    if sheet.value("annual_minimum"):
        text += f"，年度最低{yuan(sheet.value('annual_minimum'))}"
    if sheet.value("free_window_months"):
        text += f"；免费使用期{sheet.value('free_window_months')}个月内不计提成"
    return text + "（另计，不含在上列价格内）"


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
        raise ValidationError(N_("公示期已结束或公示已撤回，不再受理异议"), "text")
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
        raise ValidationError(N_("%(label)s不能超过%(high)s个字"), field, label=label, high=high)


def resolve_objection(objection: Objection, decision: str, note: str, user: User) -> Objection:
    """Record the outcome of an objection; an upheld one withdraws the notice (re-negotiate)."""
    require(user, "notice.resolve_objection", objection)
    if objection.status != "open":
        raise Conflict(N_("该异议已处理"))
    if decision not in RESOLUTIONS:
        raise ValidationError(N_("请选择处理结果"), "decision")
    note = (note or "").strip()
    _require_length(note, "note", "处理说明", 5, 2000)
    objection.status, objection.resolution, objection.resolved_by = decision, note, user.id
    audit.record(user.id, "objection.resolve", objection, after={"status": decision, "note": note})
    if decision == "upheld":
        _reopen_negotiation(objection.notice, user)
    db.session.flush()
    return objection


def _reopen_negotiation(notice: Notice, user: User) -> None:
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
    """Notices for the public list: open ones first, then the most recent; withdrawn ones stay
    listed as withdrawn, with their objections."""
    stmt = select(Notice)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    ordered = stmt.order_by((Notice.status == "open").desc(), Notice.opens_at.desc(), Notice.id)
    rows = db.session.scalars(ordered.offset((page - 1) * per_page).limit(per_page))
    return Page(list(rows), total or 0, page, per_page)


def objections_of(notice: Notice) -> list[Objection]:
    stmt = select(Objection).where(Objection.notice_id == notice.id)
    return list(db.session.scalars(stmt.order_by(Objection.created_at, Objection.id)))
