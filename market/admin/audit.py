"""Read side of the audit log: filters, a page of entries and the before/after diff rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from market.queries.listings import Page
from market.ui.change_log import field_label, value_lines
from market.urls import MAX_ID, page_number
from models import AuditLog, User, db

MISSING = object()


@dataclass
class AuditFilter:
    action: str = ""
    object_type: str = ""
    object_id: int | None = None
    user: str = ""
    since: date | None = None
    until: date | None = None
    page: int = 1
    per_page: int = 50

    @classmethod
    def from_args(cls, args, per_page: int = 50) -> AuditFilter:
        return cls(
            action=(args.get("action") or "").strip()[:60],
            object_type=(args.get("object") or "").strip()[:40],
            object_id=_int_or_none(args.get("object_id")),
            user=(args.get("user") or "").strip()[:254],
            since=_date_or_none(args.get("since")),
            until=_date_or_none(args.get("until")),
            page=page_number(args.get("page")),
            per_page=per_page,
        )


def _int_or_none(raw: Any) -> int | None:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if 0 <= value <= MAX_ID else None


def _date_or_none(raw: Any) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def entries(flt: AuditFilter) -> Page:
    """Audit entries matching the filter, newest first, with the acting user (or None)."""
    actor = aliased(User)
    stmt = select(AuditLog, actor).outerjoin(actor, AuditLog.user_id == actor.id)
    if flt.action:
        # "deal" finds deal.move, deal.reward …; "deal.move" finds only that action.
        pattern = flt.action if "." in flt.action else f"{flt.action}.%"
        stmt = stmt.where(AuditLog.action.like(pattern) | (AuditLog.action == flt.action))
    if flt.object_type:
        stmt = stmt.where(AuditLog.object_type == flt.object_type.lower())
    if flt.object_id is not None:
        stmt = stmt.where(AuditLog.object_id == flt.object_id)
    if flt.user:
        if flt.user.isdigit():
            stmt = stmt.where(AuditLog.user_id == int(flt.user))
        else:
            stmt = stmt.where(func.lower(actor.email).contains(flt.user.lower(), autoescape=True))
    if flt.since:
        stmt = stmt.where(AuditLog.at >= datetime.combine(flt.since, time.min, UTC))
    if flt.until:
        end = datetime.combine(flt.until + timedelta(days=1), time.min, UTC)
        stmt = stmt.where(AuditLog.at < end)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.execute(
        stmt.order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .offset((flt.page - 1) * flt.per_page)
        .limit(flt.per_page)
    ).all()
    return Page([(entry, user) for entry, user in rows], total or 0, flt.page, flt.per_page)


@dataclass(frozen=True)
class DiffRow:
    key: str
    before: str
    after: str
    changed: bool


def diff(before: dict | None, after: dict | None, action: str = "") -> list[DiffRow]:
    """One row per key present before or after; ``changed`` marks what the action altered.

    A term-sheet edit shows each term by its label and in the sheet's units (元, %, 个月 …)."""
    before, after = before or {}, after or {}
    keys = list(dict.fromkeys([*before, *after]))
    shown = _term_shown if action == "termsheet.edit" else (lambda _key, value: _shown(value))
    return [
        DiffRow(
            field_label(key) if action == "termsheet.edit" else key,
            shown(key, before.get(key, MISSING)),
            shown(key, after.get(key, MISSING)),
            before.get(key, MISSING) != after.get(key, MISSING),
        )
        for key in keys
    ]


def _term_shown(field: str, stored: Any) -> str:
    """A term as ``services.terms`` audits it: {"value": …, "unit": …}, or a row list."""
    if stored is MISSING:
        return "—"
    value = stored.get("value") if isinstance(stored, dict) else stored
    return " · ".join(value_lines(field, value))


def _shown(value: Any) -> str:
    if value is MISSING:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def known_actions() -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).distinct().order_by(AuditLog.action)))


def known_object_types() -> list[str]:
    stmt = select(AuditLog.object_type).distinct().order_by(AuditLog.object_type)
    return list(db.session.scalars(stmt))
