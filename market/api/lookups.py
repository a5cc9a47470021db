"""Read-side selects the API needs beyond ``market.queries.listings`` (patents, taxonomies)."""

from __future__ import annotations

from sqlalchemy import Select, String, cast, or_, select

from models import Industry, IpcCode, Outcome, Patent


def like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def starts_with(text: str) -> str:
    return like(text)[1:]


def patents(number: str = "", ipc: str = "") -> Select:
    """Patents not tied to an unpublished outcome."""
    stmt = (
        select(Patent)
        .outerjoin(Outcome, Patent.outcome_id == Outcome.id)
        .where(or_(Patent.outcome_id.is_(None), Outcome.status == "published"))
    )
    if number:
        stmt = stmt.where(Patent.number == number.strip().upper().replace(" ", ""))
    if ipc:
        # ipc_codes is a JSON list; its text holds each code quoted.
        pattern = '%"' + starts_with(ipc.strip().upper())
        stmt = stmt.where(cast(Patent.ipc_codes, String).like(pattern, escape="\\"))
    return stmt.order_by(Patent.id)


def ipc_codes(code: str = "", prefix: str = "", text: str = "") -> Select:
    stmt = select(IpcCode)
    if code:
        stmt = stmt.where(IpcCode.code == code.strip().upper())
    if prefix:
        stmt = stmt.where(IpcCode.code.like(starts_with(prefix.strip().upper()), escape="\\"))
    if text:
        stmt = stmt.where(IpcCode.title.like(like(text.strip()), escape="\\"))
    return stmt.order_by(IpcCode.code)


def industries(code: str = "", parent: str = "", section: str = "", text: str = "") -> Select:
    stmt = select(Industry)
    if code:
        stmt = stmt.where(Industry.code == code.strip().upper())
    if parent:
        stmt = stmt.where(Industry.parent == parent.strip().upper())
    if section:
        stmt = stmt.where(Industry.section == section.strip().upper())
    if text:
        stmt = stmt.where(Industry.name.like(like(text.strip()), escape="\\"))
    return stmt.order_by(Industry.code)
