"""SQLAlchemy models shared by the web app and the worker. No imports from ``market``."""

from .accounts import Organization, User
from .base import Base, UTCDateTime, content_hash, db, utcnow
from .deals import Deal, DealEvent, Match, Notice, Objection, RewardShare, TermSheet
from .errors import Conflict, DomainError, Forbidden, NotFound, ValidationError
from .listings import Demand, Outcome, Patent, outcome_ipc
from .ops import AuditLog, Job, ListingVector, PolicyProfile
from .taxonomy import Industry, IpcCode

__all__ = [
    "AuditLog",
    "Base",
    "Conflict",
    "Deal",
    "DealEvent",
    "Demand",
    "DomainError",
    "Forbidden",
    "Industry",
    "IpcCode",
    "Job",
    "ListingVector",
    "Match",
    "NotFound",
    "Notice",
    "Objection",
    "Organization",
    "Outcome",
    "Patent",
    "PolicyProfile",
    "RewardShare",
    "TermSheet",
    "User",
    "UTCDateTime",
    "ValidationError",
    "content_hash",
    "db",
    "outcome_ipc",
    "utcnow",
]
