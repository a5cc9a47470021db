"""China's 法定休假日 from the State Council's yearly holiday notices (via `chinese-calendar`).

A 法定休假日 here is a public holiday or a weekend that is not a make-up working day (调休上班);
民法典 第二百零三条 moves a period's last day past it. The package carries each year once the State
Council has published it; for a later year we fall back to weekends only and say so.
"""

from __future__ import annotations

import logging
from datetime import date

logger = logging.getLogger(__name__)

try:
    import chinese_calendar
except ImportError as e:  # pragma: no cover - a hard dependency, listed in pyproject.toml
    raise ImportError(
        "market.licensing needs the State Council holiday data: pip install chinese-calendar"
    ) from e


def is_rest_day(day: date) -> tuple[bool, bool]:
    """(whether `day` is a 法定休假日, whether the State Council data covered its year)."""
    try:
        return (not chinese_calendar.is_workday(day)), True
    except NotImplementedError:
        logger.info("no State Council holiday data for %s; counting weekends only", day.year)
        return day.weekday() >= 5, False


def holiday_name(day: date) -> str:
    """The holiday's Chinese name when `day` is a named holiday, else ''."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return ""
    if not on_holiday or name is None:
        return ""
    return _HOLIDAY_NAMES.get(str(name), str(name))


_HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}
