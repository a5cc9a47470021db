"""Organisations and their users."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from .base import UTCDateTime, db, utcnow
from .enums import N_, ORG_KINDS, ROLES
from .errors import ValidationError


class Organization(db.Model):
    __tablename__ = "organization"
    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in ORG_KINDS)})", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    province: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(32))
    is_sme: Mapped[bool] = mapped_column(Boolean, default=False)
    # 国有企业 (an enterprise the state owns or controls): its fiscal-funded outcomes are in the
    # 到期即转 scope like those of 高校院所.
    state_owned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    approved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organization")

    @validates("name")
    def _name(self, _key, value):
        value = (value or "").strip()
        if not value:
            raise ValidationError(N_("机构名称不能为空"), "name")
        if len(value) > 200:
            raise ValidationError(N_("机构名称不能超过200个字"), "name")
        return value

    @validates("kind")
    def _kind(self, _key, value):
        if value not in ORG_KINDS:
            raise ValidationError(N_("未知的机构类型：%(value)s"), "kind", value=value)
        return value

    @property
    def kind_label(self) -> str:
        return ORG_KINDS[self.kind]

    @property
    def owner_type_label(self) -> str:
        """The kind as the 到期即转 scope reads it: 企业 that the state owns are 国有企业."""
        return "国有企业" if self.kind == "enterprise" and self.state_owned else self.kind_label

    @property
    def region_label(self) -> str:
        if self.province and self.city and self.province != self.city:
            return f"{self.province}{self.city}"
        return self.city or self.province or ""


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(f"role IN ({', '.join(repr(k) for k in ROLES)})", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of every session's and remember cookie's user id: raising it signs out every copy of
    # every session (logout, "log out everywhere", a new password).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization | None] = relationship(back_populates="users")

    @validates("email")
    def _email(self, _key, value):
        value = (value or "").strip().lower()
        if "@" not in value or len(value) > 254:
            raise ValidationError(N_("请输入有效的电子邮箱"), "email")
        return value

    @validates("role")
    def _role(self, _key, value):
        if value not in ROLES:
            raise ValidationError(N_("未知的用户角色：%(value)s"), "role", value=value)
        return value

    def set_password(self, password: str) -> None:
        if len(password or "") < 8:
            raise ValidationError(N_("密码至少需要8个字符"), "password")
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login asks this
        return self.active

    def get_id(self) -> str:
        """Flask-Login stores this in the session and the remember cookie: "<id>:<generation>"."""
        return f"{self.id}:{self.session_generation or 0}"

    def end_sessions(self) -> None:
        """Sign out every session and remember cookie issued so far."""
        self.session_generation = (self.session_generation or 0) + 1

    @property
    def role_label(self) -> str:
        return ROLES[self.role]


def hash_password(password: str) -> str:
    # scrypt is werkzeug's default: a memory-hard, modern KDF.
    return generate_password_hash(password, method="scrypt")


_dummy_hash: str | None = None


def check_password_of_nobody(password: str) -> bool:
    """Spend the time ``check_password`` spends, for an address without an account.

    Answering at once would tell an attacker which addresses have accounts. Always False.
    """
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_urlsafe(32))
    check_password_hash(_dummy_hash, password)
    return False


class LoginThrottle(db.Model):
    """Failed sign-ins per e-mail address (hashed; known or not, so it reveals nothing)."""

    __tablename__ = "login_throttle"

    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
