"""Deal workflow records the deal tables do not carry: the service subsidy a reward is a share
of, the 标杆案例 drafted when a deal is signed, and 到期即转 consent tasks."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import Organization, User
from .base import UTCDateTime, db, utcnow
from .deals import Deal
from .enums import N_
from .listings import Demand, Outcome

CONSENT_STATES = {
    "pending_consent": N_("待权利人确认"),
    "pooled": N_("已进入先用后转成果池"),
    "declined": N_("权利人已说明理由"),
}


class DealSubsidy(db.Model):
    """技术转移服务补助 granted for a deal; broker rewards are capped as a share of it."""

    __tablename__ = "deal_subsidy"
    __table_args__ = (CheckConstraint("amount_fen >= 0", name="amount"),)

    deal_id: Mapped[int] = mapped_column(
        ForeignKey("deal.id", ondelete="CASCADE"), primary_key=True
    )
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    profile_key: Mapped[str] = mapped_column(String(40))
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    deal: Mapped[Deal] = relationship()


class BenchmarkCase(db.Model):
    """标杆案例: drafted when a deal is signed, published to the 标杆案例清单 by an admin."""

    __tablename__ = "benchmark_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id", ondelete="CASCADE"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    deal: Mapped[Deal] = relationship()


class UseFirstReview(db.Model):
    """到期即转: an outcome the sweep found due, and its owner's consent or reasoned refusal."""

    __tablename__ = "use_first_review"
    __table_args__ = (
        CheckConstraint(f"state IN ({', '.join(repr(s) for s in CONSENT_STATES)})", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outcome_id: Mapped[int] = mapped_column(
        ForeignKey("outcome.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[str] = mapped_column(String(20), default="pending_consent", index=True)
    found_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(400))
    rule_source: Mapped[str] = mapped_column(String(400))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A broker reviews a refusal's 正当理由: pending → upheld | rejected (the reviewer is in the
    # audit log); a rejected reason reopens the consent task.
    review_state: Mapped[str | None] = mapped_column(String(16))
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    outcome: Mapped[Outcome] = relationship()

    @property
    def state_label(self) -> str:
        return CONSENT_STATES[self.state]


ACCESS_STATES = {
    "requested": N_("待发布方决定"),
    "granted": N_("已授权查看"),
    "refused": N_("发布方已拒绝"),
    "revoked": N_("授权已撤销"),
}
# The confidentiality undertaking a requester accepts; its version is stored with the request.
NDA_VERSION = "2026-12"


class DemandAccess(db.Model):
    """分级保密: an institution asks to see who posted a 脱敏 demand, accepting the platform's
    confidentiality undertaking; the owner grants or refuses and may revoke a grant later."""

    __tablename__ = "demand_access"
    __table_args__ = (
        CheckConstraint(f"state IN ({', '.join(repr(s) for s in ACCESS_STATES)})", name="state"),
        db.UniqueConstraint("demand_id", "organization_id", name="uq_demand_access_org"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    requested_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    purpose: Mapped[str] = mapped_column(Text)
    nda_version: Mapped[str] = mapped_column(String(20))
    nda_accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="requested", index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version_id: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version_id}

    demand: Mapped[Demand] = relationship()
    organization: Mapped[Organization] = relationship()
    requester: Mapped[User] = relationship(foreign_keys=[requested_by])

    @property
    def state_label(self) -> str:
        return ACCESS_STATES[self.state]
