"""标杆案例: admins edit the drafts signed deals leave behind and publish them to the 标杆案例清单.

Flushes, never commits; every change writes the audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, func, select

from models import (
    BenchmarkCase,
    Deal,
    DealEvent,
    Demand,
    Match,
    Outcome,
    ValidationError,
    db,
    utcnow,
)
from models.enums import N_

from ..queries.listings import Page
from . import audit

log = logging.getLogger(__name__)

TITLE_MAX = 200
SUMMARY_MIN, SUMMARY_MAX = 10, 2000
STATES = ("draft", "published")


@dataclass(frozen=True)
class CaseRow:
    """A case with what the lists show of its deal."""

    case: BenchmarkCase
    demand_title: str | None
    outcome_title: str
    region: str
    field: str
    signed_at: datetime | None
    is_demo: bool = False  # a 示例 story's case (its demand or outcome is demo data)


def admin_cases(state: str = "", page: int = 1, per_page: int = 50) -> Page:
    """Drafted and published cases for the admin page, drafts first, newest first."""
    stmt = select(BenchmarkCase)
    if state in STATES:
        stmt = stmt.where(BenchmarkCase.published.is_(state == "published"))
    stmt = stmt.order_by(
        BenchmarkCase.published, BenchmarkCase.created_at.desc(), BenchmarkCase.id.desc()
    )
    return _page(stmt, page, per_page)


def published_cases(page: int = 1, per_page: int = 20) -> Page:
    """The public 标杆案例清单: published cases only, most recently published first."""
    stmt = (
        select(BenchmarkCase)
        .where(BenchmarkCase.published.is_(True))
        .order_by(BenchmarkCase.published_at.desc(), BenchmarkCase.id.desc())
    )
    return _page(stmt, page, per_page)


def published_count() -> int:
    stmt = select(func.count(BenchmarkCase.id)).where(BenchmarkCase.published.is_(True))
    return db.session.scalar(stmt) or 0


def _page(stmt: Select, page: int, per_page: int) -> Page:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    cases = list(db.session.scalars(stmt.offset((page - 1) * per_page).limit(per_page)))
    return Page(present(cases), total or 0, page, per_page)


def present(cases: list[BenchmarkCase]) -> list[CaseRow]:
    """Cases with their deal's demand and outcome titles, region, field and signing time."""
    if not cases:
        return []
    deal_ids = [c.deal_id for c in cases]
    rows = db.session.execute(
        select(Deal.id, Demand, Outcome)
        .join(Match, Deal.match_id == Match.id)
        .join(Demand, Match.demand_id == Demand.id)
        .join(Outcome, Match.outcome_id == Outcome.id)
        .where(Deal.id.in_(deal_ids))
    ).all()
    listings = {deal_id: (demand, outcome) for deal_id, demand, outcome in rows}
    signed = dict(
        db.session.execute(
            select(DealEvent.deal_id, func.min(DealEvent.at))
            .where(DealEvent.deal_id.in_(deal_ids), DealEvent.to_stage == "signed")
            .group_by(DealEvent.deal_id)
        ).all()
    )
    result = []
    for case in cases:
        demand, outcome = listings[case.deal_id]
        signed_at = signed.get(case.deal_id)
        if signed_at is not None and signed_at.tzinfo is None:  # SQLite forgets the zone
            signed_at = signed_at.replace(tzinfo=UTC)
        result.append(
            CaseRow(
                case=case,
                # A demand only brokers may see stays unnamed on public lists.
                demand_title=None if demand.confidentiality == "broker_only" else demand.title,
                outcome_title=outcome.title,
                region=demand.region_label,
                field=demand.field or outcome.field or "",
                signed_at=signed_at,
                is_demo=demand.is_demo or outcome.is_demo,
            )
        )
    return result


def update_case(case: BenchmarkCase, title: str, summary: str, user) -> BenchmarkCase:
    """Change a case's title and summary (published cases change on the public list at once)."""
    title, summary = (title or "").strip(), (summary or "").strip()
    if not title:
        raise ValidationError(N_("请填写案例标题"), "title")
    if len(title) > TITLE_MAX:
        raise ValidationError(N_("案例标题不能超过%(title_max)s个字"), "title", title_max=TITLE_MAX)
    if not summary:
        raise ValidationError(N_("请填写案例摘要"), "summary")
    if not SUMMARY_MIN <= len(summary) <= SUMMARY_MAX:
        raise ValidationError(
            N_("案例摘要须为%(summary_min)s到%(summary_max)s个字"),
            "summary",
            summary_min=SUMMARY_MIN,
            summary_max=SUMMARY_MAX,
        )
    before = audit.snapshot(case, ["title", "summary"])
    if before == {"title": title, "summary": summary}:
        return case
    case.title, case.summary = title, summary
    db.session.flush()
    audit.record(
        user.id, "case.update", case, before=before, after={"title": title, "summary": summary}
    )
    return case


def publish_case(case: BenchmarkCase, user, now: datetime | None = None) -> BenchmarkCase:
    """Show the case on the public 标杆案例清单."""
    if case.published:
        return case
    case.published, case.published_at = True, now or utcnow()
    db.session.flush()
    audit.record(
        user.id,
        "case.publish",
        case,
        before={"published": False},
        after={"published": True, "published_at": case.published_at},
    )
    return case


def unpublish_case(case: BenchmarkCase, user) -> BenchmarkCase:
    """Take the case off the public list; it stays as a draft."""
    if not case.published:
        return case
    before = audit.snapshot(case, ["published", "published_at"])
    case.published, case.published_at = False, None
    db.session.flush()
    audit.record(user.id, "case.unpublish", case, before=before, after={"published": False})
    return case
