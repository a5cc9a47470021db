"""Calendar arithmetic for contract dates (months and years, clamped to month ends)."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """Same day-of-month `months` later, clamped to the month's last day (1月31日 + 1 月 → 2月28/29日)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    """Same date `years` later; 2月29日 falls back to 2月28日 in common years."""
    return add_months(day, 12 * years)


def whole_months_between(start: date, end: date) -> int:
    """Full months from start to end (negative if end is earlier); partial months are dropped."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if months > 0 and add_months(start, months) > end:
        months -= 1
    elif months < 0 and add_months(start, months) < end:
        months += 1
    return months


def months_covering(start: date, end: date) -> int:
    """Months needed to reach end from start, counting a started month as whole."""
    months = whole_months_between(start, end)
    return months + 1 if add_months(start, months) < end else months
