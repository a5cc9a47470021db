"""揭榜挂帅 (open challenge): an institution enters one of its outcomes against a challenge demand,
and the enterprise that posted it shortlists entries and picks the one winner."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .accounts import Organization
from .base import UTCDateTime, db, utcnow
from .deals import Match
from .enums import N_, SUBMISSION_STATES
from .errors import ValidationError
from .listings import Demand, Outcome, clean_text

PITCH_LIMIT = 2000
NOTE_LIMIT = 2000
WINNER = text("state = 'winner'")


class ChallengeSubmission(db.Model):
    """One outcome entered (揭榜) against one challenge demand, with its pitch and decision."""

    __tablename__ = "challenge_submission"
    __table_args__ = (
        UniqueConstraint("demand_id", "outcome_id", name="uq_challenge_submission_pair"),
        CheckConstraint(
            f"state IN ({', '.join(repr(s) for s in SUBMISSION_STATES)})", name="state"
        ),
        # At most one winner per challenge, whatever two people click at the same moment.
        Index(
            "uq_challenge_submission_winner",
            "demand_id",
            unique=True,
            sqlite_where=WINNER,
            postgresql_where=WINNER,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    outcome_id: Mapped[int] = mapped_column(
        ForeignKey("outcome.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    pitch: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    match_id: Mapped[int | None] = mapped_column(ForeignKey("match.id", ondelete="SET NULL"))
    version_id: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    demand: Mapped[Demand] = relationship()
    outcome: Mapped[Outcome] = relationship()
    organization: Mapped[Organization] = relationship()
    match: Mapped[Match | None] = relationship()

    __mapper_args__ = {"version_id_col": version_id}

    @validates("pitch")
    def _pitch(self, _key, value):
        return clean_text(value, "pitch", "揭榜说明", PITCH_LIMIT)

    @validates("decision_note")
    def _note(self, _key, value):
        return clean_text(value, "note", "决定说明", NOTE_LIMIT, required=False)

    @validates("state")
    def _state(self, _key, value):
        if value not in SUBMISSION_STATES:
            raise ValidationError(N_("未知的揭榜状态：%(value)s"), "state", value=value)
        return value

    @property
    def state_label(self) -> str:
        return SUBMISSION_STATES[self.state]

    @property
    def is_active(self) -> bool:
        """Still in the running: neither withdrawn nor decided against."""
        return self.state in ("submitted", "shortlisted")
