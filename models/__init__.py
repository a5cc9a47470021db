"""SQLAlchemy models shared by the web app and the worker. No imports from ``market``."""

from .accounts import LoginThrottle, Organization, User
from .api import ApiToken
from .base import Base, UTCDateTime, content_hash, db, local_today, utcnow
from .challenges import ChallengeSubmission
from .deals import Deal, DealEvent, Match, MatchBundle, Notice, Objection, RewardShare, TermSheet
from .errors import Conflict, DomainError, Forbidden, NotFound, ValidationError
from .handoffs import IntroRequest, Notification
from .imports import ImportBatch, OrganizationReview
from .listings import Demand, Outcome, Patent, outcome_ipc
from .ops import AuditLog, IdempotencyKey, Job, ListingVector, OutboxTask, PolicyProfile
from .taxonomy import Industry, IpcCode
from .workflow import BenchmarkCase, DealSubsidy, DemandAccess, UseFirstReview

__all__ = [
    "ApiToken",
    "BenchmarkCase",
    "AuditLog",
    "Base",
    "ChallengeSubmission",
    "Conflict",
    "Deal",
    "DealEvent",
    "DealSubsidy",
    "DemandAccess",
    "Demand",
    "DomainError",
    "Forbidden",
    "Industry",
    "IdempotencyKey",
    "ImportBatch",
    "IntroRequest",
    "IpcCode",
    "Job",
    "ListingVector",
    "LoginThrottle",
    "Match",
    "MatchBundle",
    "NotFound",
    "Notification",
    "Notice",
    "Objection",
    "Organization",
    "OutboxTask",
    "OrganizationReview",
    "Outcome",
    "Patent",
    "PolicyProfile",
    "RewardShare",
    "TermSheet",
    "UseFirstReview",
    "User",
    "UTCDateTime",
    "ValidationError",
    "content_hash",
    "db",
    "outcome_ipc",
    "local_today",
    "utcnow",
]
