"""Jinja filters shared by every page: datetimes are stored in UTC and shown in Beijing time."""

from __future__ import annotations

import re
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
    app.add_template_filter(first_sentence, "first_sentence")


_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=[^\d]\.)(?=[^\d])")


def first_sentence(text: str | None, limit: int = 120) -> str:
    """An abstract's first sentence, as the summary shown on lists."""
    if not text:
        return ""
    text = text.strip()
    head = _SENTENCE_END.split(text, maxsplit=1)[0].strip()
    if len(head) < 12 and len(text) > len(head):  # "目的：" and the like: take one more
        parts = _SENTENCE_END.split(text, maxsplit=2)
        head = "".join(parts[:2]).strip()
    if len(head) > limit:
        return head[:limit].rstrip("，,、；;") + "…"
    return head
