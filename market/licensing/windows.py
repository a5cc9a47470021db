"""Time windows: 到期即转 eligibility and the 协议定价＋公示 notice window.

Pure functions; the clock is always passed in (`today`, `now`) so tests control it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from market.licensing.dates import add_years
from market.licensing.errors import WindowError
from market.licensing.facts import OutcomeFacts
from market.licensing.holidays import holiday_name, is_rest_day
from market.licensing.labels import N_
from market.licensing.profiles import Profile
from models.enums import ORG_KINDS, RESEARCH_TYPES

logger = logging.getLogger(__name__)

POOL_RULE = "use_first_pool_after_years"
POOL_SCOPE_RULE = "use_first_pool_scope"
NOTICE_FALLBACK_RULE = "notice_days"
CHINA_TIME = timezone(timedelta(hours=8))
PERIOD_CITATION = "《中华人民共和国民法典》第二百零一条、第二百零三条"
# 到期即转 decisions are stored as text (UseFirstReview.reason); pages translate them by these
# templates (market.i18n.STORED_TEMPLATES).
DUE_NOW = N_("授权于%(granted)s，满%(years)s年未实施，转入先用后转（待权利人确认）")
NOT_DUE_YET = N_("最早授权于%(granted)s，%(due)s起满%(years)s年")
MAX_HOLIDAY_RUN = 31  # no run of rest days is longer; a guard against a broken calendar


@dataclass(frozen=True)
class Decision:
    """A yes/no with the reason people read and the rule it rests on; truthy when `ok`."""

    ok: bool
    reason: str
    source: str = ""

    def __bool__(self) -> bool:
        return self.ok


def due_for_use_first(outcome: OutcomeFacts, profile: Profile, today: date) -> Decision:
    """到期即转: a fiscal-funded outcome inside the profile's scope (research type, owner) whose
    live patent was granted ≥ N years ago (N from the profile) with no recorded implementation
    is due to enter the 先用后转 pool."""
    rule = profile.rule(POOL_RULE)
    years = int(rule.value)
    source = f"{rule.source}（{rule.citation}）"
    if not outcome.fiscal_funded:
        return Decision(False, "非财政资助成果，不适用到期即转", source)
    outside = pool_scope_refusal(outcome, profile)
    if outside is not None:
        return outside
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
        when = {"granted": earliest.isoformat(), "due": due_on.isoformat(), "years": years}
        return Decision(False, NOT_DUE_YET % when, source)
    return Decision(True, DUE_NOW % {"granted": earliest.isoformat(), "years": years}, source)


def pool_scope_refusal(outcome: OutcomeFacts, profile: Profile) -> Decision | None:
    """Why the outcome is outside the profile's 到期即转 scope, or None when it is inside.

    The scope rule names the research type (its value) and the owner kinds; an enterprise is in
    scope only when state-owned (国有企业). A profile without the rule sets no scope."""
    rule = profile.get(POOL_SCOPE_RULE)
    if rule is None:
        return None
    source = f"{rule.source}（{rule.citation}）"
    research_type = outcome.effective_research_type
    if research_type != rule.value:
        stated = RESEARCH_TYPES.get(research_type or "", "未填写")
        wanted = RESEARCH_TYPES.get(rule.value, rule.value)
        return Decision(False, f"研究类型为{stated}，到期即转只适用于{wanted}类成果", source)
    kind = outcome.owner_kind
    private = kind == "enterprise" and not outcome.owner_state_owned
    if (rule.owner_kinds and kind not in rule.owner_kinds) or private:
        owner = "非国有企业" if private else ORG_KINDS[kind]
        return Decision(False, f"权利人为{owner}，不在到期即转适用范围内", source)
    return None


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


@dataclass(frozen=True)
class NoticeWindow:
    """A 公示 period counted as the Civil Code counts periods (民法典 第二百零一、二百零三条): the
    opening day does not count; it ends at 24:00 Beijing time of its last day, and a last day
    that is a 法定休假日 moves to the first day after the holiday."""

    opened_at: datetime
    days: int
    first_day: date
    last_day: date
    nominal_last_day: date
    closes_at: datetime
    holiday_data: bool = True

    @property
    def extended(self) -> bool:
        return self.last_day != self.nominal_last_day

    def explanation(self) -> str:
        """What the page prints under the window, in Chinese."""
        text = f"自{_cn(self.first_day)}起算{self.days}日，至{_cn(self.last_day)}24时（北京时间）止"
        if self.extended:
            name = holiday_name(self.nominal_last_day) or "法定休假日"
            text += f"；原最后一日{_cn(self.nominal_last_day)}为{name}，顺延至休假日结束的次日"
        if not self.holiday_data:
            text += "；当年国务院放假安排尚未收录，暂按周末顺延"
        return f"{text}（{PERIOD_CITATION}）"


def notice_window(opened_at: datetime, days: int) -> NoticeWindow:
    """The 公示 window for a notice opened at `opened_at` that must run `days` days."""
    _require_aware(opened_at, "opened_at")
    if days < 1:
        raise WindowError("公示期至少为1日")
    opened_on = opened_at.astimezone(CHINA_TIME).date()
    first = opened_on + timedelta(days=1)  # 开始的当日不计入，自下一日开始计算
    nominal = opened_on + timedelta(days=days)
    last, covered = nominal, True
    for _ in range(MAX_HOLIDAY_RUN):
        rest, known = is_rest_day(last)
        covered = covered and known
        if not rest:
            break
        last += timedelta(days=1)
    else:
        raise WindowError(f"{_cn(nominal)}起连续{MAX_HOLIDAY_RUN}日均为休假日，请检查节假日数据")
    closes = datetime.combine(last + timedelta(days=1), time(0, 0), CHINA_TIME)
    return NoticeWindow(opened_at, days, first, last, nominal, closes, covered)


def notice_closes_at(opened_at: datetime, profile: Profile, days: int | None = None) -> datetime:
    """When a notice opened at `opened_at` closes: 24:00 Beijing time of the last of `days` days
    (the term sheet's own notice_days; never fewer than the profile's), holidays extending it."""
    length = max(days or 0, notice_days(profile))
    return notice_window(opened_at, length).closes_at


def _cn(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


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
