"""Operational records: audit log, stored vectors, background job progress, policy profiles."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import UTCDateTime, db, utcnow


class AuditLog(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ListingVector(db.Model):
    """A listing's embedding, so rebuilds and restarts never re-encode unchanged text."""

    __tablename__ = "listing_vector"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    listing_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(120), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    # The listing's nearest listings of the same kind by this model, best first, packed by
    # pack_neighbors (read on every match: binary, not JSON). Derived like the vector itself;
    # kept current as listings come and go. Use ``neighbor_list`` to read or write pairs.
    # The matcher reads them from an in-memory copy (``market.search.neighbors``).
    neighbors: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def neighbor_list(self) -> list[list]:
        """[[listing id, cosine], ...], best first; [] before the listing is linked."""
        return unpack_neighbors(self.neighbors)

    @neighbor_list.setter
    def neighbor_list(self, pairs: list) -> None:
        self.neighbors = pack_neighbors(pairs)


def pack_neighbors(pairs: list) -> bytes:
    """k little-endian int64 ids, then their k float32 cosines."""
    ids = np.array([int(i) for i, _ in pairs], dtype="<i8")
    scores = np.array([float(s) for _, s in pairs], dtype="<f4")
    return ids.tobytes() + scores.tobytes()


def neighbor_ids(blob: bytes | None) -> list[int]:
    if not blob:
        return []
    return np.frombuffer(blob, dtype="<i8", count=len(blob) // 12).tolist()


def unpack_neighbors(blob: bytes | None) -> list[list]:
    if not blob:
        return []
    count = len(blob) // 12
    ids = np.frombuffer(blob, dtype="<i8", count=count)
    scores = np.frombuffer(blob, dtype="<f4", count=count, offset=8 * count)
    return [[int(i), round(float(s), 4)] for i, s in zip(ids, scores, strict=True)]


class Job(db.Model):
    """Progress of a long job (seed, rebuild, bulk embed, import) that the UI can poll."""

    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


class PolicyProfile(db.Model):
    """A district's 先用后转 policy numbers, loaded from seed_data/policies/*.toml."""

    __tablename__ = "policy_profile"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    data: Mapped[dict] = mapped_column(JSON)
    source_text: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OutboxTask(db.Model):
    """A task a write needs, stored in the write's own transaction (a transactional outbox).

    ``market.tasks.relay`` hands pending rows to Celery after the commit and deletes them; rows
    a broker outage left behind are relayed by the next relay (beat's reconcile, a worker start).
    """

    __tablename__ = "outbox_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    args: Mapped[list] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class IdempotencyKey(db.Model):
    """An API client's ``Idempotency-Key`` and the first answer given to it, so a retried
    write returns that answer instead of creating a second row (kept ``IDEMPOTENCY_TTL``)."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # method, path and body, hashed
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
