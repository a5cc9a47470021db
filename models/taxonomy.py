"""Reference taxonomies: the Chinese IPC scheme and GB/T 4754-2017 industries."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import db


class IpcCode(db.Model):
    __tablename__ = "ipc_code"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent: Mapped[str | None] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)


class Industry(db.Model):
    __tablename__ = "industry"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    level: Mapped[int]
    section: Mapped[str] = mapped_column(String(1), index=True)
    parent: Mapped[str | None] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(120))
    remark: Mapped[str | None] = mapped_column(Text)
