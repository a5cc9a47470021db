"""From proposal to signed deal: Match, TermSheet, Deal with its history, Notice 公示."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import Organization
from .base import UTCDateTime, db, utcnow
from .enums import BUNDLE_STAGES, DEAL_STAGES, MATCH_STAGES, REJECTION_REASONS
from .listings import Demand, Outcome


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Match(db.Model):
    """A machine proposal pairing one demand with one outcome, reviewed by a broker."""

    __tablename__ = "match"
    __table_args__ = (
        UniqueConstraint("demand_id", "outcome_id", name="uq_match_pair"),
        CheckConstraint(_in("stage", MATCH_STAGES), name="stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    outcome_id: Mapped[int] = mapped_column(
        ForeignKey("outcome.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[float] = mapped_column(Float, index=True)
    rank: Mapped[int | None] = mapped_column(Integer)
    components: Mapped[dict] = mapped_column(JSON, default=dict)
    explanation: Mapped[dict] = mapped_column(JSON, default=dict)
    complexity: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str] = mapped_column(String(16), default="proposed", index=True)
    broker_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    rejection_reason: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    decision_features: Mapped[dict | None] = mapped_column(JSON)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    model_version: Mapped[str | None] = mapped_column(String(120))
    version_id: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    demand: Mapped[Demand] = relationship()
    outcome: Mapped[Outcome] = relationship()

    __mapper_args__ = {"version_id_col": version_id}

    @property
    def stage_label(self) -> str:
        return MATCH_STAGES[self.stage]

    @property
    def relevance(self) -> float | None:
        """Calibrated probability that a broker accepts the pair (None for older proposals)."""
        return (self.components or {}).get("relevance")

    @property
    def band(self) -> str | None:
        """strong / possible / weak (强匹配 / 可能相关 / 不建议), as matched."""
        return ((self.explanation or {}).get("relevance") or {}).get("band")

    @property
    def rejection_label(self) -> str | None:
        return REJECTION_REASONS.get(self.rejection_reason or "")


class MatchBundle(db.Model):
    """组合方案: two or three outcomes of one organisation proposed together for one demand,
    because together they meet more of its indicators than any single proposed outcome.

    ``key`` is the members' outcome ids in order ("12-40"), so a refresh finds the same bundle
    again; ``coverage`` holds the per-indicator table (one status per member and the union)."""

    __tablename__ = "match_bundle"
    __table_args__ = (
        UniqueConstraint("demand_id", "key", name="uq_match_bundle_members"),
        CheckConstraint(_in("stage", BUNDLE_STAGES), name="stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    key: Mapped[str] = mapped_column(String(80))
    outcome_ids: Mapped[list] = mapped_column(JSON, default=list)
    match_ids: Mapped[list] = mapped_column(JSON, default=list)
    coverage: Mapped[list] = mapped_column(JSON, default=list)
    indicator_count: Mapped[int] = mapped_column(Integer)
    covered: Mapped[int] = mapped_column(Integer)
    best_single: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float, index=True)
    stage: Mapped[str] = mapped_column(String(16), default="proposed", index=True)
    broker_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    rejection_reason: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version_id: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    demand: Mapped[Demand] = relationship()
    organization: Mapped[Organization] = relationship()

    __mapper_args__ = {"version_id_col": version_id}

    @property
    def stage_label(self) -> str:
        return BUNDLE_STAGES[self.stage]

    @property
    def rejection_label(self) -> str | None:
        return REJECTION_REASONS.get(self.rejection_reason or "")

    @property
    def size(self) -> int:
        return len(self.outcome_ids or [])


class TermSheet(db.Model):
    """Draft 先用后转 terms; every edit is a new version kept in ``history``."""

    __tablename__ = "term_sheet"

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int | None] = mapped_column(ForeignKey("match.id"), index=True)
    outcome_id: Mapped[int] = mapped_column(ForeignKey("outcome.id"), index=True)
    licensee_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    profile_key: Mapped[str] = mapped_column(String(40))
    mode: Mapped[str] = mapped_column(String(16), default="use_first")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    history: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    version_id: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    match: Mapped[Match | None] = relationship()
    outcome: Mapped[Outcome] = relationship()

    __mapper_args__ = {"version_id_col": version_id}


class Deal(db.Model):
    __tablename__ = "deal"
    __table_args__ = (CheckConstraint(_in("stage", DEAL_STAGES), name="stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("match.id"), unique=True)
    stage: Mapped[str] = mapped_column(String(16), default="reviewed", index=True)
    broker_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    term_sheet_id: Mapped[int | None] = mapped_column(ForeignKey("term_sheet.id"))
    price_fen: Mapped[int | None] = mapped_column(BigInteger)
    lost_reason: Mapped[str | None] = mapped_column(Text)
    contract_registration_no: Mapped[str | None] = mapped_column(String(64))
    stage_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version_id: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    match: Mapped[Match] = relationship()
    events: Mapped[list[DealEvent]] = relationship(
        back_populates="deal", order_by="DealEvent.at", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version_id}

    @property
    def stage_label(self) -> str:
        return DEAL_STAGES[self.stage]


class DealEvent(db.Model):
    __tablename__ = "deal_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    deal: Mapped[Deal] = relationship(back_populates="events")


class RewardShare(db.Model):
    """Broker reward ledger entry (广东 意见 28: ≤30% of a service subsidy)."""

    __tablename__ = "reward_share"
    __table_args__ = (CheckConstraint("amount_fen >= 0", name="amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notice(db.Model):
    """公示: a negotiated price published for a window before signing."""

    __tablename__ = "notice"
    __table_args__ = (CheckConstraint("price_fen >= 0", name="price"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deal.id"), index=True)
    outcome_title: Mapped[str] = mapped_column(String(200))
    parties: Mapped[str] = mapped_column(String(400))
    price_fen: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(16), default="negotiated")
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")
    # What the notice publishes beyond name and price (拟交易方式, price make-up, patents,
    # 成果完成人, publishing unit, objection office / contact / procedure, the window's reckoning).
    details: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    objections: Mapped[list[Objection]] = relationship(back_populates="notice")
    deal: Mapped[Deal | None] = relationship()

    @property
    def is_demo(self) -> bool:
        """A notice of a 示例 deal (either listing is demo content) is marked 示例 too."""
        match = self.deal.match if self.deal is not None else None
        return bool(match and (match.outcome.is_demo or match.demand.is_demo))


class Objection(db.Model):
    __tablename__ = "objection"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    contact: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    notice: Mapped[Notice] = relationship(back_populates="objections")
