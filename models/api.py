"""Personal API tokens: only a SHA-256 hash of the secret is stored."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .accounts import User
from .base import UTCDateTime, db, utcnow
from .enums import N_
from .errors import ValidationError

TOKEN_NAME_LIMIT = 80


def hash_secret(token: str) -> str:
    """Tokens carry 256 random bits, so a plain digest is as strong as a slow KDF here."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(TOKEN_NAME_LIMIT))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @validates("name")
    def _name(self, _key, value):
        value = (value or "").strip()
        if not value:
            raise ValidationError(N_("令牌名称不能为空"), "name")
        if len(value) > TOKEN_NAME_LIMIT:
            raise ValidationError(
                N_("令牌名称不能超过%(token_name_limit)s个字"),
                "name",
                token_name_limit=TOKEN_NAME_LIMIT,
            )
        return value

    @property
    def active(self) -> bool:
        return self.revoked_at is None
