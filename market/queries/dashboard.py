"""Aggregates for the public dashboard, all computed from live rows."""

from __future__ import annotations

from statistics import median

from sqlalchemy import func, select

from models import Deal, Demand, Match, Outcome, db
from models.enums import DEAL_STAGES, MATCH_STAGES, MATURITY, N_

FUNNEL = (N_("需求"), N_("有推荐的需求"), N_("经纪人已接受"), N_("进入洽谈"), N_("已签约"))


def demands_by_field() -> list[tuple[str, int]]:
    rows = db.session.execute(
        select(Demand.field, func.count())
        .where(Demand.status == "published")
        .group_by(Demand.field)
        .order_by(func.count().desc())
    ).all()
    return [(field or "未分类", n) for field, n in rows]


def listings_by_region() -> list[tuple[str, int, int]]:
    demands = dict(
        db.session.execute(
            select(Demand.city, func.count())
            .where(Demand.status == "published")
            .group_by(Demand.city)
        ).all()
    )
    outcomes = dict(
        db.session.execute(
            select(Outcome.city, func.count())
            .where(Outcome.status == "published")
            .group_by(Outcome.city)
        ).all()
    )
    cities = sorted(
        set(demands) | set(outcomes), key=lambda c: -(demands.get(c, 0) + outcomes.get(c, 0))
    )
    return [(city or "未填写", demands.get(city, 0), outcomes.get(city, 0)) for city in cities]


def outcomes_by_maturity() -> list[tuple[str, int]]:
    rows = dict(
        db.session.execute(
            select(Outcome.maturity, func.count())
            .where(Outcome.status == "published")
            .group_by(Outcome.maturity)
        ).all()
    )
    return [(label, rows.get(code, 0)) for code, label in MATURITY.items()]


def proposals_by_stage() -> list[tuple[str, int]]:
    rows = dict(db.session.execute(select(Match.stage, func.count()).group_by(Match.stage)).all())
    return [(label, rows.get(code, 0)) for code, label in MATCH_STAGES.items()]


def deals_by_stage() -> list[tuple[str, int]]:
    rows = dict(db.session.execute(select(Deal.stage, func.count()).group_by(Deal.stage)).all())
    return [(label, rows.get(code, 0)) for code, label in DEAL_STAGES.items()]


def funnel() -> list[tuple[str, int]]:
    demands = (
        db.session.scalar(select(func.count()).select_from(Demand).where(Demand.status != "draft"))
        or 0
    )
    proposed = db.session.scalar(select(func.count(func.distinct(Match.demand_id)))) or 0
    accepted = (
        db.session.scalar(select(func.count()).select_from(Match).where(Match.stage == "accepted"))
        or 0
    )
    negotiating = (
        db.session.scalar(
            select(func.count())
            .select_from(Deal)
            .where(Deal.stage.in_(("negotiating", "notice", "signed", "registered")))
        )
        or 0
    )
    signed = (
        db.session.scalar(
            select(func.count()).select_from(Deal).where(Deal.stage.in_(("signed", "registered")))
        )
        or 0
    )
    return list(zip(FUNNEL, (demands, proposed, accepted, negotiating, signed), strict=True))


def hours_to_first_proposal() -> float | None:
    """Median hours from posting a demand to its first machine proposal."""
    rows = db.session.execute(
        select(Demand.created_at, func.min(Match.created_at))
        .join(Match, Match.demand_id == Demand.id)
        .group_by(Demand.id, Demand.created_at)
    ).all()
    hours = [(first - posted).total_seconds() / 3600 for posted, first in rows if posted and first]
    return round(median(hours), 2) if hours else None


def summary() -> dict:
    return {
        "demands_by_field": demands_by_field(),
        "listings_by_region": listings_by_region(),
        "outcomes_by_maturity": outcomes_by_maturity(),
        "proposals_by_stage": proposals_by_stage(),
        "deals_by_stage": deals_by_stage(),
        "funnel": funnel(),
        "hours_to_first_proposal": hours_to_first_proposal(),
    }
