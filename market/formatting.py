"""Jinja filters shared by every page: datetimes are stored in UTC and shown in Beijing time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def localtime(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC datetime (aware, naive-UTC or ISO text) as Asia/Shanghai wall time; "" for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LOCAL_ZONE).strftime(fmt)


def register(app: Flask) -> None:
    app.add_template_filter(localtime, "localtime")
