"""Bulk import batches (a TTO spreadsheet between preview and import) and organisation reviews."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import Organization
from .base import UTCDateTime, db, utcnow
from .enums import N_
from .ops import Job

IMPORT_STATES = {
    "previewed": N_("待确认"),
    "queued": N_("排队中"),
    "running": N_("导入中"),
    "done": N_("已完成"),
    "failed": N_("失败"),
}


class ImportBatch(db.Model):
    """One uploaded spreadsheet: the cleaned valid rows wait here so the worker gets only an id."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    filename: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="previewed")
    publish: Mapped[bool] = mapped_column(default=True)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    valid_rows: Mapped[int] = mapped_column(Integer, default=0)
    # Cleaned rows ready to insert: [{"row": 2, "outcome": {...}, "patents": [...], "ipc": [...]}]
    rows: Mapped[list] = mapped_column(JSON, default=list)
    # Every spreadsheet row's fate: [{"row": 2, "title": ..., "status": ..., "errors": [...]}]
    results: Mapped[list] = mapped_column(JSON, default=list)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
    job: Mapped[Job | None] = relationship()

    @property
    def status_label(self) -> str:
        return IMPORT_STATES.get(self.status, self.status)


class OrganizationReview(db.Model):
    """An operator's decision on a registered organisation; a rejection keeps it off the queue."""

    __tablename__ = "organization_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
