"""Read-side selects for the workspaces: an organisation's own listings and import batches."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import defer

from models import Demand, ImportBatch, Outcome, Patent, db

from ..queries.listings import like_pattern


def my_demands(org_id: int) -> list[Demand]:
    stmt = (
        select(Demand)
        .where(Demand.organization_id == org_id)
        .order_by(Demand.updated_at.desc(), Demand.id.desc())
    )
    return list(db.session.scalars(stmt))


OUTCOME_PAGE = 50


def my_outcomes(
    org_id: int, query: str = "", page: int = 1, per_page: int = OUTCOME_PAGE
) -> tuple[list[tuple[Outcome, int]], int]:
    """One page of the organisation's outcomes, newest first, with their patent counts;
    ``query`` narrows them by title. Returns the rows and how many match in all."""
    where = [Outcome.organization_id == org_id]
    query = (query or "").strip()[:100]
    if query:
        where.append(Outcome.title.like(like_pattern(query), escape="\\"))
    total = db.session.scalar(select(func.count(Outcome.id)).where(*where)) or 0
    stmt = (
        select(Outcome)
        .where(*where)
        .order_by(Outcome.updated_at.desc(), Outcome.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    outcomes = list(db.session.scalars(stmt))
    # Patent counts for this page only: grouping every patent of a large catalogue costs more
    # than the page itself.
    counts = dict(
        db.session.execute(
            select(Patent.outcome_id, func.count(Patent.id))
            .where(Patent.outcome_id.in_([o.id for o in outcomes]))
            .group_by(Patent.outcome_id)
        ).all()
    )
    return [(o, counts.get(o.id, 0)) for o in outcomes], total


def count_outcomes(org_id: int) -> int:
    stmt = select(func.count(Outcome.id)).where(Outcome.organization_id == org_id)
    return db.session.scalar(stmt) or 0


def recent_batches(org_id: int, limit: int = 10) -> list[ImportBatch]:
    stmt = (
        select(ImportBatch)
        .options(defer(ImportBatch.rows), defer(ImportBatch.results))
        .where(ImportBatch.organization_id == org_id)
        .order_by(ImportBatch.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))
