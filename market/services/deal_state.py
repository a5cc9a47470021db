"""A deal's stage moves and its current term sheet: what the deal and notice services share."""

from __future__ import annotations

from datetime import datetime

from models import Deal, DealEvent, User, db

from . import audit, terms


def record_move(deal: Deal, to_stage: str, user: User, note: str | None, now: datetime) -> None:
    """Change the stage and log who moved it, when and why."""
    deal.events.append(
        DealEvent(from_stage=deal.stage, to_stage=to_stage, user_id=user.id, note=note, at=now)
    )
    before = deal.stage
    deal.stage, deal.stage_changed_at = to_stage, now
    audit.record(user.id, "deal.move", deal, before={"stage": before}, after={"stage": to_stage})


def deal_profile_key(deal: Deal) -> str:
    sheet = current_sheet(deal)
    return sheet.profile_key if sheet else terms.get_profile().key


def current_sheet(deal: Deal):
    from models import TermSheet

    if deal.term_sheet_id:
        return db.session.get(TermSheet, deal.term_sheet_id)
    return None
