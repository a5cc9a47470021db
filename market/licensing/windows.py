"""Time windows: 到期即转 eligibility and the 协议定价＋公示 notice window.

Pure functions; the clock is always passed in (`today`, `now`) so tests control it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from market.licensing.dates import add_years
from market.licensing.errors import WindowError
from market.licensing.facts import OutcomeFacts
from market.licensing.profiles import Profile

logger = logging.getLogger(__name__)

POOL_RULE = "use_first_pool_after_years"
NOTICE_FALLBACK_RULE = "notice_days"


@dataclass(frozen=True)
class Decision:
    """A yes/no with the reason people read and the rule it rests on; truthy when `ok`."""

    ok: bool
    reason: str
    source: str = ""

    def __bool__(self) -> bool:
        return self.ok


def due_for_use_first(outcome: OutcomeFacts, profile: Profile, today: date) -> Decision:
    """到期即转: a fiscal-funded outcome whose live patent was granted ≥ N years ago (N from the
    profile) with no recorded implementation is due to enter the 先用后转 pool."""
    rule = profile.rule(POOL_RULE)
    years = int(rule.value)
    source = f"{rule.source}（{rule.citation}）"
    if not outcome.fiscal_funded:
        return Decision(False, "非财政资助成果，不适用到期即转", source)
    if outcome.implemented:
        return Decision(False, "已有实施记录", source)
    if outcome.in_use_first_pool:
        return Decision(False, "已在先用后转成果池中", source)
    granted = [p.granted_on for p in outcome.live_patents(today) if p.granted_on is not None]
    if not granted:
        return Decision(False, "无已授权且有效的专利", source)
    earliest = min(granted)
    due_on = add_years(earliest, years)
    if today < due_on:
        return Decision(
            False, f"最早授权于{earliest.isoformat()}，{due_on.isoformat()}起满{years}年", source
        )
    return Decision(
        True,
        f"授权于{earliest.isoformat()}，满{years}年未实施，转入先用后转（待权利人确认）",
        source,
    )


def notice_days(profile: Profile) -> int:
    """Length of the 协议定价 notice window in days: the strictest minimum a rule sets, else the
    practice default (15 days)."""
    minimums = [
        rule.bounds[0]
        for rule in profile.rules.values()
        if rule.field == "notice_days" and rule.bounds and rule.bounds[0] is not None
    ]
    default = int(profile.rule(NOTICE_FALLBACK_RULE).value)
    return max([default, *minimums])


def notice_closes_at(opened_at: datetime, profile: Profile) -> datetime:
    """When a notice opened at `opened_at` closes: that many natural days later, same clock time."""
    _require_aware(opened_at, "opened_at")
    return opened_at + timedelta(days=notice_days(profile))


@dataclass(frozen=True)
class NoticeFacts:
    opened_at: datetime
    closes_at: datetime
    open_objections: int = 0
    withdrawn: bool = False

    def __post_init__(self) -> None:
        _require_aware(self.opened_at, "opened_at")
        _require_aware(self.closes_at, "closes_at")
        if self.closes_at <= self.opened_at:
            raise WindowError("公示截止时间须晚于开始时间")
        if self.open_objections < 0:
            raise WindowError("异议数不能为负")


CHINA_TIME = timezone(timedelta(hours=8))


def can_sign(notice: NoticeFacts, now: datetime) -> tuple[bool, str]:
    """Whether the contract may be signed: the notice ran its full window with no open objection."""
    _require_aware(now, "now")
    if notice.withdrawn:
        return False, "公示已撤回，须重新公示"
    if now < notice.closes_at:
        local = notice.closes_at.astimezone(CHINA_TIME)
        return False, f"公示期未满，{local:%Y-%m-%d %H:%M}（北京时间）截止"
    if notice.open_objections:
        return False, f"尚有{notice.open_objections}项异议未处理"
    return True, "公示期满且无未决异议，可以签约"


def _require_aware(moment: datetime, name: str) -> None:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise WindowError(f"{name} 须为带时区的 datetime")
