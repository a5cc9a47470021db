"""Chinese display of term values (元, %, 个月 …) shared by messages, the UI and the exports."""

from __future__ import annotations

from datetime import date
from typing import Any

from market.licensing.labels import ENUM_LABELS


def yuan(fen: int) -> str:
    """Fen as a yuan amount with thousands separators: 123456 → "1,234.56元"."""
    return f"{yuan_number(fen)}元"


def yuan_number(fen: int) -> str:
    """The number part of ``yuan``: 123456 → "1,234.56" (for pages that put the unit elsewhere)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def percent(bps: int) -> str:
    whole, rest = divmod(bps, 100)
    return f"{whole}%" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0") + "%"


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def format_value(value: Any, unit: str, enum_kind: str | None = None) -> str:
    """One value in its unit, for people to read."""
    if value is None:
        return "无"
    if unit == "fen":
        return yuan(value)
    if unit in ("bps", "bps_of_price"):
        return percent(value)
    if unit == "date":
        return chinese_date(value)
    if unit == "bool":
        return "是" if value else "否"
    if unit == "enum" and enum_kind:
        return ENUM_LABELS.get(enum_kind, {}).get(value, str(value))
    suffix = {"months": "个月", "years": "年", "days": "日", "count": "期"}.get(unit, "")
    return f"{value}{suffix}"


def format_bounds(low: int | None, high: int | None, unit: str) -> str:
    if low is not None and high is not None:
        if low == high:
            return f"须为{format_value(low, unit)}"
        return f"{format_value(low, unit)}至{format_value(high, unit)}"
    if low is not None:
        return f"不低于{format_value(low, unit)}"
    return f"不高于{format_value(high, unit)}"
