"""Read-side selects for the workspaces: an organisation's own listings and import batches."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import defer

from models import Demand, ImportBatch, Outcome, Patent, db


def my_demands(org_id: int) -> list[Demand]:
    stmt = (
        select(Demand)
        .where(Demand.organization_id == org_id)
        .order_by(Demand.updated_at.desc(), Demand.id.desc())
    )
    return list(db.session.scalars(stmt))


def my_outcomes(org_id: int, limit: int = 500) -> list[tuple[Outcome, int]]:
    """Outcomes with their patent counts, newest first."""
    patents = (
        select(Patent.outcome_id, func.count(Patent.id).label("n"))
        .group_by(Patent.outcome_id)
        .subquery()
    )
    stmt = (
        select(Outcome, func.coalesce(patents.c.n, 0))
        .outerjoin(patents, patents.c.outcome_id == Outcome.id)
        .where(Outcome.organization_id == org_id)
        .order_by(Outcome.updated_at.desc(), Outcome.id.desc())
        .limit(limit)
    )
    return [(outcome, count) for outcome, count in db.session.execute(stmt)]


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
