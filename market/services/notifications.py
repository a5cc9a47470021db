"""Per-user notifications shown in each workspace: create, list, count unread, mark read.
Flushes, never commits."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, update

from models import Match, Notification, User, db, utcnow

log = logging.getLogger(__name__)


def notify(
    users: Iterable[User], kind: str, match: Match | None = None, data: dict[str, Any] | None = None
) -> list[Notification]:
    """One notification per distinct active user."""
    made, seen = [], set()
    for user in users:
        if user.id in seen or not user.active:
            continue
        seen.add(user.id)
        note = Notification(
            user_id=user.id, kind=kind, match_id=match.id if match else None, data=dict(data or {})
        )
        db.session.add(note)
        made.append(note)
    db.session.flush()
    log.info("notified %d users: %s", len(made), kind)
    return made


def recent(user: User, limit: int = 50) -> list[Notification]:
    """The newest ``limit`` notifications of ``user``, newest first."""
    if limit <= 0:
        return []
    stmt = select(Notification).where(Notification.user_id == user.id)
    stmt = stmt.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))


def unread_count(user: User) -> int:
    stmt = select(func.count()).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    return db.session.scalar(stmt) or 0


def mark_all_read(user: User) -> int:
    """Mark every unread notification of ``user`` read; returns how many were."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount or 0
