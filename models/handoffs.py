"""Hand-offs between the parties and the brokers: a party's request that a broker introduce the
two sides of a proposal (请经纪人牵线对接), and the notifications that tell each user what happened."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import Organization, User
from .base import UTCDateTime, db, utcnow
from .deals import Match
from .enums import N_

INTRO_STATES = {
    "requested": N_("待经纪人答复"),
    "accepted": N_("经纪人已接受，将联系双方"),
    "declined": N_("经纪人已婉拒"),
}

NOTIFICATION_KINDS = ("intro_requested", "intro_accepted", "intro_declined")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class IntroRequest(db.Model):
    """One party's request that a broker make the introduction for a proposal, and the answer.

    One row per proposal: asking again after a refusal reopens it (the audit log keeps the
    earlier rounds)."""

    __tablename__ = "intro_request"
    __table_args__ = (CheckConstraint(_in("state", INTRO_STATES), name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("match.id", ondelete="CASCADE"), unique=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    message: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="requested", index=True)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_note: Mapped[str | None] = mapped_column(Text)

    match: Mapped[Match] = relationship()
    requester: Mapped[User] = relationship(foreign_keys=[requested_by])
    organization: Mapped[Organization] = relationship()
    answerer: Mapped[User | None] = relationship(foreign_keys=[answered_by])

    @property
    def state_label(self) -> str:
        return INTRO_STATES[self.state]

    @property
    def pending(self) -> bool:
        return self.state == "requested"


class Notification(db.Model):
    """Something a user should know about, shown in their workspace until read.

    ``kind`` picks the sentence the page shows; ``data`` holds what it names (titles, reason)."""

    __tablename__ = "notification"
    __table_args__ = (
        CheckConstraint(_in("kind", NOTIFICATION_KINDS), name="kind"),
        Index("ix_notification_user_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    match_id: Mapped[int | None] = mapped_column(ForeignKey("match.id", ondelete="CASCADE"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def unread(self) -> bool:
        return self.read_at is None
