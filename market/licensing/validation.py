"""Validation of a term sheet against its policy profile; each Violation names the rule broken."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from market.licensing.dates import whole_months_between
from market.licensing.facts import OutcomeFacts
from market.licensing.formatting import format_bounds, format_value
from market.licensing.labels import FIELD_LABELS
from market.licensing.profiles import Profile, Rule
from market.licensing.sheet import (
    DERIVED_UNITS,
    ENUM_VALUES,
    FIELD_UNITS,
    MILESTONE_EVENTS,
    NULLABLE_FIELDS,
    TermSheet,
)

logger = logging.getLogger(__name__)

PATENT_LIFE_CITATION = "《中华人民共和国专利法》第四十二条"
CORE_CITATION = "平台校验（合同要素完整性）"
MONEY_FIELDS = ("entry_fee", "annual_minimum", "annual_cap", "conversion_price", "risk_coverage")


@dataclass(frozen=True)
class Violation:
    rule_id: str
    source: str
    citation: str
    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {
            "rule_id": self.rule_id,
            "source": self.source,
            "citation": self.citation,
            "field": self.field,
            "message": self.message,
        }


def validate(sheet: TermSheet, profile: Profile, outcome: OutcomeFacts) -> list[Violation]:
    """All violations of the sheet against the core checks and its profile's rules."""
    shape = _shape_violations(sheet)
    if shape:
        # Rule checks compare values; with wrong types they would only add noise or crash.
        return shape
    found = _core_violations(sheet, outcome)
    if sheet.profile_key != profile.key:
        found.append(
            _core("profile_mismatch", "profile_key", f"条款书属于档案 {sheet.profile_key}")
        )
    for rule in profile.rules.values():
        checker = _CHECKERS.get(rule.check)
        if checker is not None and applies(rule, sheet, outcome):
            violation = checker(rule, sheet)
            if violation is not None:
                found.append(violation)
    return found


def applies(rule: Rule, sheet: TermSheet, outcome: OutcomeFacts) -> bool:
    """Whether a rule's mode, owner and `when` filters select this sheet."""
    if rule.modes and sheet.mode not in rule.modes:
        return False
    if rule.owner_kinds and outcome.owner_kind not in rule.owner_kinds:
        return False
    return all(_CONDITIONS[name](sheet, outcome) for name in rule.when)


def rule_violation(rule: Rule, field: str, message: str) -> Violation:
    return Violation(rule.id, rule.source, str(rule.citation), field, message)


def _label(field: str) -> str:
    return FIELD_LABELS.get(field, field)


def _unit_of(field: str) -> str:
    return FIELD_UNITS.get(field) or DERIVED_UNITS[field]


def _check_bounds(rule: Rule, sheet: TermSheet) -> Violation | None:
    actual = sheet.value(rule.field)
    low, high = rule.bounds or (None, None)
    if actual is None or _within(actual, low, high):
        return None
    unit = _unit_of(rule.field)
    message = (
        f"{_label(rule.field)}为{format_value(actual, unit)}，"
        f"不符合“{rule.label}”（{format_bounds(low, high, unit)}）"
    )
    return rule_violation(rule, rule.field, message)


def _check_bounds_of_price(rule: Rule, sheet: TermSheet) -> Violation | None:
    actual, price = sheet.value(rule.field), sheet.value("base_price")
    if actual is None or not price:
        return None
    low, high = rule.bounds or (None, None)
    # Compare actual/price with bps bounds in integers: actual * 10000 vs bound * price.
    if _within(actual * 10000, _scaled(low, price), _scaled(high, price)):
        return None
    span = format_bounds(low, high, "bps")
    message = (
        f"{_label(rule.field)}为{format_value(actual, 'fen')}，"
        f"不符合“{rule.label}”（基准价格的{span}）"
    )
    return rule_violation(rule, rule.field, message)


def _check_one_of(rule: Rule, sheet: TermSheet) -> Violation | None:
    actual = sheet.value(rule.field)
    if actual in rule.value:
        return None
    allowed = "、".join(format_value(v, "enum", rule.field) for v in rule.value)
    message = f"{_label(rule.field)}为“{format_value(actual, 'enum', rule.field)}”，“{rule.label}”只允许：{allowed}"
    return rule_violation(rule, rule.field, message)


def _check_equals(rule: Rule, sheet: TermSheet) -> Violation | None:
    actual = sheet.value(rule.field)
    if actual == rule.value:
        return None
    unit = _unit_of(rule.field)
    message = (
        f"{_label(rule.field)}须为{format_value(rule.value, unit, rule.field)}（{rule.label}）"
    )
    return rule_violation(rule, rule.field, message)


def _within(value: int, low: int | None, high: int | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _scaled(bound: int | None, price: int) -> int | None:
    return None if bound is None else bound * price


_CHECKERS: dict[str, Callable[[Rule, TermSheet], Violation | None]] = {
    "bounds": _check_bounds,
    "bounds_of_price": _check_bounds_of_price,
    "one_of": _check_one_of,
    "equals": _check_equals,
}

_CONDITIONS: dict[str, Callable[[TermSheet, OutcomeFacts], bool]] = {
    "ownership_shared": lambda s, o: o.ownership_shared_with_team,
    "fiscal_funded": lambda s, o: o.fiscal_funded,
    "sme_licensee": lambda s, o: s.licensee_is_sme,
    "has_royalty": lambda s, o: s.value("royalty_base") != "none",
    "royalty_base:net_sales": lambda s, o: s.value("royalty_base") == "net_sales",
    "royalty_base:profit": lambda s, o: s.value("royalty_base") == "profit",
    "has_conversion": lambda s, o: s.value("conversion_price") is not None,
    "has_risk_instrument": lambda s, o: s.value("risk_instrument") != "none",
    **{
        f"fee_form:{form}": (lambda s, o, form=form: s.value("fee_form") == form)
        for form in ENUM_VALUES["fee_form"]
    },
}


# --- core checks: structure and law that hold under every profile -------------------------


def _core(rule_id: str, field: str, message: str, citation: str = CORE_CITATION) -> Violation:
    return Violation(f"core/{rule_id}", f"core:{rule_id}", citation, field, message)


def _shape_violations(sheet: TermSheet) -> list[Violation]:
    found = []
    for name, unit in FIELD_UNITS.items():
        term = sheet.terms.get(name)
        if term is None:
            found.append(_core("field_types", name, f"缺少条款“{_label(name)}”"))
        elif not _type_ok(term.value, unit, name):
            found.append(_core("field_types", name, f"“{_label(name)}”取值 {term.value!r} 无效"))
    found.extend(_list_shape_violations(sheet))
    return found


def _type_ok(value: Any, unit: str, name: str) -> bool:
    if value is None:
        return name in NULLABLE_FIELDS
    if unit in ("fen", "bps", "months", "days"):
        return isinstance(value, int) and not isinstance(value, bool)
    if unit == "bool":
        return isinstance(value, bool)
    if unit == "date":
        return isinstance(value, date)
    if unit == "enum":
        return value in ENUM_VALUES[name]
    return isinstance(value, str)


def _list_shape_violations(sheet: TermSheet) -> list[Violation]:
    found = []
    for i, m in enumerate(sheet.milestones):
        threshold_ok = m.threshold is None or _type_ok(m.threshold.value, "fen", "")
        if m.event not in MILESTONE_EVENTS or not _type_ok(m.amount.value, "fen", ""):
            found.append(_core("field_types", "milestones", f"第{i + 1}个里程碑无效"))
        elif not threshold_ok or (m.event == "revenue_at_least") != (m.threshold is not None):
            found.append(_core("field_types", "milestones", f"第{i + 1}个里程碑的约定额无效"))
    for i, inst in enumerate(sheet.deferred_schedule):
        if not _type_ok(inst.due_on.value, "date", "") or not _type_ok(
            inst.amount.value, "fen", ""
        ):
            found.append(_core("field_types", "deferred_schedule", f"第{i + 1}期延期支付无效"))
    return found


def _core_violations(sheet: TermSheet, outcome: OutcomeFacts) -> list[Violation]:
    found: list[Violation] = []
    for check in (_patent_life, _dates, _amounts, _fee_form, _conversion, _schedule):
        found.extend(check(sheet, outcome))
    return found


def _patent_life(sheet: TermSheet, outcome: OutcomeFacts) -> list[Violation]:
    if not outcome.patents:
        return []
    start, end = sheet.value("start_on"), sheet.value("end_on")
    latest = outcome.latest_expiry(start)
    if latest is None:
        message = "许可起始日时成果无有效专利，无从许可"
        return [_core("patent_in_force", "start_on", message, PATENT_LIFE_CITATION)]
    if end > latest:
        message = (
            f"许可截止日{format_value(end, 'date')}晚于专利届满日{format_value(latest, 'date')}"
        )
        return [_core("term_within_patent_life", "end_on", message, PATENT_LIFE_CITATION)]
    return []


def _dates(sheet: TermSheet, outcome: OutcomeFacts) -> list[Violation]:
    start, end = sheet.value("start_on"), sheet.value("end_on")
    if start >= end:
        return [_core("dates_ordered", "end_on", "许可截止日须晚于起始日")]
    found = []
    window, window_max = sheet.value("free_window_months"), sheet.value("free_window_max_months")
    if window_max < window:
        found.append(_core("free_window", "free_window_max_months", "免费期上限不得短于免费期"))
    longest = window_max if sheet.value("free_window_until_first_revenue") else window
    if longest < 0 or longest > whole_months_between(start, end):
        found.append(_core("free_window", "free_window_months", "免费期（含延长）超出许可期限"))
    return found


def _amounts(sheet: TermSheet, outcome: OutcomeFacts) -> list[Violation]:
    found = []
    for name in MONEY_FIELDS:
        value = sheet.value(name)
        if value is not None and value < 0:
            found.append(_core("non_negative", name, f"{_label(name)}不能为负"))
    for name in ("royalty_rate", "team_income_share", "broker_reward_share"):
        if not 0 <= sheet.value(name) <= 10000:
            found.append(_core("rate_range", name, f"{_label(name)}须在0%至100%之间"))
    for name in (
        "free_window_months",
        "free_window_max_months",
        "termination_notice_days",
        "cure_days",
        "notice_days",
    ):
        if sheet.value(name) < 0:
            found.append(_core("non_negative", name, f"{_label(name)}不能为负"))
    if any(
        m.amount.value < 0 or (m.threshold and m.threshold.value <= 0) for m in sheet.milestones
    ):
        found.append(_core("non_negative", "milestones", "里程碑金额不能为负，约定额须为正"))
    cap, minimum = sheet.value("annual_cap"), sheet.value("annual_minimum")
    if cap is not None and cap < minimum:
        found.append(_core("minimum_within_cap", "annual_cap", "年度提成上限不得低于年度最低提成"))
    return found


def _fee_form(sheet: TermSheet, outcome: OutcomeFacts) -> list[Violation]:
    form, base = sheet.value("fee_form"), sheet.value("royalty_base")
    if form in ("milestone_royalty", "royalty") and base == "none":
        return [_core("fee_form_consistency", "royalty_base", "该付费方式须约定提成基数")]
    if form in ("deferred", "lump_sum") and base != "none":
        return [_core("fee_form_consistency", "royalty_base", "延期支付或一次性支付不再收取提成")]
    if form == "deferred" and not sheet.deferred_schedule:
        return [_core("fee_form_consistency", "deferred_schedule", "延期支付须列明分期计划")]
    if form != "milestone_royalty" and sheet.milestones:
        return [_core("fee_form_consistency", "milestones", "只有“里程碑支付”方式可约定里程碑")]
    if form != "deferred" and sheet.deferred_schedule:
        return [_core("fee_form_consistency", "deferred_schedule", "只有“延期支付”方式可约定分期")]
    return []


def _conversion(sheet: TermSheet, outcome: OutcomeFacts) -> list[Violation]:
    values = [
        sheet.value(n) for n in ("conversion_price", "conversion_opens_on", "conversion_closes_on")
    ]
    if all(v is None for v in values):
        return []
    if any(v is None for v in values):
        return [_core("conversion_window", "conversion_price", "后转价格与选择权起止日须同时约定")]
    if sheet.mode not in ("use_first", "license"):
        return [_core("conversion_window", "conversion_price", "只有许可类合同可约定后转选择权")]
    _, opens, closes = values
    if not sheet.value("start_on") <= opens < closes <= sheet.value("end_on"):
        return [_core("conversion_window", "conversion_closes_on", "后转选择权期间须在许可期限内")]
    return []


def _schedule(sheet: TermSheet, outcome: OutcomeFacts) -> list[Violation]:
    start, end = sheet.value("start_on"), sheet.value("end_on")
    for inst in sheet.deferred_schedule:
        if not start <= inst.due_on.value <= end or inst.amount.value <= 0:
            return [
                _core(
                    "deferred_schedule", "deferred_schedule", "每期延期支付须为正数且在许可期限内"
                )
            ]
    return []
