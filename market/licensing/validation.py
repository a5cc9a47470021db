"""Validation of a term sheet against its policy profile; each Violation names the rule broken."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from market.licensing.dates import add_months, whole_months_between
from market.licensing.errors import Violation
from market.licensing.facts import OutcomeFacts
from market.licensing.formatting import format_bounds, format_value
from market.licensing.labels import FIELD_LABELS, N_
from market.licensing.profiles import Profile, Rule
from market.licensing.sheet import (
    DERIVED_UNITS,
    ENUM_VALUES,
    FIELD_UNITS,
    MILESTONE_EVENTS,
    NULLABLE_FIELDS,
    PRE_REVENUE_EVENTS,
    TermSheet,
)

logger = logging.getLogger(__name__)

PATENT_LIFE_CITATION = "《中华人民共和国专利法》第四十二条"
CORE_CITATION = N_(
    "平台校验（合同要素完整性）"
)  # the platform's own check, not a policy: translated
CONSIDERATION_CITATION = (
    "平台规则：技术许可、转让须有对价（支付方式依《中华人民共和国民法典》第八百四十六条约定）"
)
USE_FIRST_CITATION = "先用后转的定义：先免费使用、后付费转化（珠府办函〔2025〕13号 措施7）"
AGREEMENT_PRICING_CITATION = "《中华人民共和国促进科技成果转化法》第十八条"
NOTICE_DAYS_CITATION = (
    "《实施〈中华人民共和国促进科技成果转化法〉若干规定》（国发〔2016〕16号）；"
    "《教育部 科技部关于加强高等学校科技成果转移转化工作的若干意见》（教技〔2016〕3号）"
)
# 促进法 第十八条 binds 国家设立的研究开发机构、高等院校 that price by agreement.
STATE_OWNER_KINDS = ("university", "institute")
NEGOTIATED_MODES = ("use_first", "license", "transfer", "equity")
NOTICE_MIN_DAYS = 15
MONEY_FIELDS = (
    "entry_fee",
    "annual_minimum",
    "annual_cap",
    "conversion_price",
    "risk_coverage",
    "equity_value",
)


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
    named = []
    for rule in profile.rules.values():
        checker = _CHECKERS.get(rule.check)
        if checker is not None and applies(rule, sheet, outcome):
            violation = checker(rule, sheet)
            if violation is not None:
                named.append(violation)
    # A profile rule that says the same as a core check (珠海 措施7 零门槛费) is the one to name.
    fields = {v.field for v in named}
    found = [v for v in found if not (v.rule_id in _CORE_DEFERS and v.field in fields)]
    return found + named


def scope_warnings(profile: Profile, sheet: TermSheet, outcome: OutcomeFacts) -> list[str]:
    """Warnings for "scope" rules whose mode matches but whose owner or licensee filter does not."""
    warnings = []
    for rule in profile.rules.values():
        if rule.check != "scope" or (rule.modes and sheet.mode not in rule.modes):
            continue
        if not applies(rule, sheet, outcome):
            text = rule.note or rule.citation.excerpt
            warnings.append(f"超出“{rule.label}”适用范围：{text}（{rule.citation}）")
    return warnings


def applies(rule: Rule, sheet: TermSheet, outcome: OutcomeFacts) -> bool:
    """Whether a rule's mode, owner and `when` filters select this sheet."""
    if rule.modes and sheet.mode not in rule.modes:
        return False
    if rule.owner_kinds and outcome.owner_kind not in rule.owner_kinds:
        return False
    return all(_CONDITIONS[name](sheet, outcome) for name in rule.when)


def rule_violation(
    rule: Rule, field: str, message: str, template: str | None = None, params: dict | None = None
) -> Violation:
    return Violation(
        rule.id, rule.source, str(rule.citation), field, message, template, params or None
    )


# Messages as catalogue templates (see Violation.template), in the words of the Chinese text.
OUT_OF_BOUNDS = N_("%(field)s为%(actual_value)s，不符合“%(rule)s”（%(bounds)s）")
OUT_OF_PRICE_BOUNDS = N_("%(field)s为%(actual_value)s，不符合“%(rule)s”（基准价格的%(bounds)s）")
NOT_ALLOWED = N_("%(field)s为“%(actual_value)s”，“%(rule)s”只允许：%(allowed_values)s")
MUST_EQUAL = N_("%(field)s须为%(expected_value)s（%(rule)s）")
MISSING_TERM = N_("缺少条款“%(field)s”")
INVALID_TERM = N_("“%(field)s”取值无效")
NEGATIVE = N_("%(field)s不能为负")
NOT_A_RATE = N_("%(field)s须在0%%至100%%之间")


def _value(value: Any, unit: str, enum: str | None = None) -> dict[str, Any]:
    """A value as a template parameter: what it is and in which unit (dates as ISO text)."""
    shown = value.isoformat() if isinstance(value, date) else value
    return {"value": shown, "unit": unit, "enum": enum}


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
    return rule_violation(
        rule,
        rule.field,
        message,
        OUT_OF_BOUNDS,
        {
            "field": rule.field,
            "actual_value": _value(actual, unit, rule.field),
            "rule": rule.label,
            "bounds": {"low": low, "high": high, "unit": unit},
        },
    )


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
    return rule_violation(
        rule,
        rule.field,
        message,
        OUT_OF_PRICE_BOUNDS,
        {
            "field": rule.field,
            "actual_value": _value(actual, "fen"),
            "rule": rule.label,
            "bounds": {"low": low, "high": high, "unit": "bps"},
        },
    )


def _check_one_of(rule: Rule, sheet: TermSheet) -> Violation | None:
    actual = sheet.value(rule.field)
    if actual in rule.value:
        return None
    allowed = "、".join(format_value(v, "enum", rule.field) for v in rule.value)
    message = f"{_label(rule.field)}为“{format_value(actual, 'enum', rule.field)}”，“{rule.label}”只允许：{allowed}"
    return rule_violation(
        rule,
        rule.field,
        message,
        NOT_ALLOWED,
        {
            "field": rule.field,
            "actual_value": _value(actual, "enum", rule.field),
            "rule": rule.label,
            "allowed_values": [_value(v, "enum", rule.field) for v in rule.value],
        },
    )


def _check_equals(rule: Rule, sheet: TermSheet) -> Violation | None:
    actual = sheet.value(rule.field)
    if actual == rule.value:
        return None
    unit = _unit_of(rule.field)
    message = (
        f"{_label(rule.field)}须为{format_value(rule.value, unit, rule.field)}（{rule.label}）"
    )
    return rule_violation(
        rule,
        rule.field,
        message,
        MUST_EQUAL,
        {
            "field": rule.field,
            "expected_value": _value(rule.value, unit, rule.field),
            "rule": rule.label,
        },
    )


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
    "has_granted_patent": lambda s, o: any(
        p.granted_on is not None and p.granted_on <= s.value("start_on")
        for p in o.live_patents(s.value("start_on"))
    ),
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


_CORE_DEFERS = frozenset({"core/use_first_entry_fee"})


# --- core checks: structure and law that hold under every profile -------------------------


def _core(
    rule_id: str,
    field: str,
    message: str,
    citation: str = CORE_CITATION,
    template: str | None = None,
    params: dict | None = None,
) -> Violation:
    return Violation(
        f"core/{rule_id}", f"core:{rule_id}", citation, field, message, template, params or None
    )


def _shape_violations(sheet: TermSheet) -> list[Violation]:
    found = []
    for name, unit in FIELD_UNITS.items():
        term = sheet.terms.get(name)
        if term is None:
            found.append(
                _core(
                    "field_types",
                    name,
                    f"缺少条款“{_label(name)}”",
                    template=MISSING_TERM,
                    params={"field": name},
                )
            )
        elif not _type_ok(term.value, unit, name):
            found.append(
                _core(
                    "field_types",
                    name,
                    f"“{_label(name)}”取值 {term.value!r} 无效",
                    template=INVALID_TERM,
                    params={"field": name},
                )
            )
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
    for check in (
        _patent_life,
        _dates,
        _amounts,
        _fee_form,
        _conversion,
        _schedule,
        _consideration,
        _royalty_needs_base,
        _milestone_order,
        _use_first_is_free,
        _agreement_pricing_notice,
        _risk_recorded,
    ):
        found.extend(check(sheet, outcome))
    return found


def notice_obligation(sheet: TermSheet, outcome: OutcomeFacts) -> bool:
    """促进法 第十八条: a 国家设立的 university or institute pricing by agreement must publish."""
    return (
        outcome.owner_kind in STATE_OWNER_KINDS
        and sheet.mode in NEGOTIATED_MODES
        and sheet.value("pricing_method") == "negotiated"
    )


def free_window_end(sheet: TermSheet) -> date | None:
    """The last day the sheet's free window can reach, its "until first revenue" extension
    included; None when the window is unusable (negative, past year 9999), a core violation."""
    months = sheet.value("free_window_months")
    if sheet.value("free_window_until_first_revenue"):
        months = max(months, sheet.value("free_window_max_months"))
    return _months_after(sheet.value("start_on"), months)


def _months_after(day: date, months: int) -> date | None:
    if months < 0:
        return None
    try:
        return add_months(day, months)
    except ValueError:
        return None


def consideration_present(sheet: TermSheet) -> bool:
    royalty = sheet.value("royalty_base") != "none" and (
        sheet.value("royalty_rate") > 0 or sheet.value("annual_minimum") > 0
    )
    equity = sheet.value("equity_value") or 0
    return sheet.value("fixed_fee_total") > 0 or royalty or equity > 0


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


def _negative(name: str) -> Violation:
    message = f"{_label(name)}不能为负"
    return _core("non_negative", name, message, template=NEGATIVE, params={"field": name})


def _amounts(sheet: TermSheet, outcome: OutcomeFacts) -> list[Violation]:
    found = []
    for name in MONEY_FIELDS:
        value = sheet.value(name)
        if value is not None and value < 0:
            found.append(_negative(name))
    for name in ("royalty_rate", "team_income_share", "broker_reward_share", "equity_share_bps"):
        if sheet.value(name) is not None and not 0 <= sheet.value(name) <= 10000:
            found.append(
                _core(
                    "rate_range",
                    name,
                    f"{_label(name)}须在0%至100%之间",
                    template=NOT_A_RATE,
                    params={"field": name},
                )
            )
    for name in (
        "free_window_months",
        "free_window_max_months",
        "termination_notice_days",
        "cure_days",
        "notice_days",
    ):
        if sheet.value(name) < 0:
            found.append(_negative(name))
    if any(
        m.amount.value < 0 or (m.threshold and m.threshold.value <= 0) for m in sheet.milestones
    ):
        found.append(_core("non_negative", "milestones", "里程碑金额不能为负，约定额须为正"))
    cap, minimum = sheet.value("annual_cap"), sheet.value("annual_minimum")
    if cap is not None and cap < minimum:
        found.append(_core("minimum_within_cap", "annual_cap", "年度提成上限不得低于年度最低提成"))
    return found


def _fee_form(sheet: TermSheet, outcome: OutcomeFacts) -> list[Violation]:
    """Every way the terms contradict the fee form, each on its own field (not just the first)."""
    form, base = sheet.value("fee_form"), sheet.value("royalty_base")
    found = []

    def add(field: str, message: str) -> None:
        found.append(_core("fee_form_consistency", field, message))

    if (sheet.mode == "equity") != (form == "equity"):
        add("fee_form", "付费方式：作价入股以成果作价出资、取得股权，其他合作方式不能以股权支付")
    if (sheet.mode == "equity") != (sheet.value("equity_value") is not None):
        add("equity_value", "作价金额：只有作价入股须约定作价金额，且必须约定")
    if form in ("milestone_royalty", "royalty") and base == "none":
        add("royalty_base", "该付费方式须约定提成基数")
    if form in ("deferred", "lump_sum", "equity") and base != "none":
        add("royalty_base", "延期支付、一次性支付或作价入股不再收取提成")
    if form == "deferred" and not sheet.deferred_schedule:
        add("deferred_schedule", "延期支付须列明分期计划")
    if form != "milestone_royalty" and sheet.milestones:
        add("milestones", "只有“里程碑支付”方式可约定里程碑")
    if form != "deferred" and sheet.deferred_schedule:
        add("deferred_schedule", "只有“延期支付”方式可约定分期")
    return found


def _conversion(sheet: TermSheet, outcome: OutcomeFacts) -> list[Violation]:
    values = [
        sheet.value(n) for n in ("conversion_price", "conversion_opens_on", "conversion_closes_on")
    ]
    if all(v is None for v in values):
        return []
    if any(v is None for v in values):
        return [_core("conversion_window", "conversion_price", "后转价格与选择权起止日须同时约定")]
    found = []
    if sheet.mode not in ("use_first", "license"):
        found.append(
            _core("conversion_window", "conversion_price", "只有许可类合同可约定后转选择权")
        )
    _, opens, closes = values
    if not sheet.value("start_on") <= opens < closes <= sheet.value("end_on"):
        found.append(
            _core("conversion_window", "conversion_closes_on", "后转选择权期间须在许可期限内")
        )
    return found


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


def _consideration(sheet: TermSheet, outcome: OutcomeFacts) -> list[Violation]:
    if consideration_present(sheet):
        return []
    form = format_value(sheet.value("fee_form"), "enum", "fee_form")
    if sheet.mode == "use_first" and sheet.value("fee_form") == "lump_sum":
        detail = "先用后转零门槛费，签约时不收款，“一次性支付”因此无任何对价"
    else:
        detail = f"“{form}”下入门费、里程碑和延期支付合计为0元，也无提成"
    message = f"付费方式：对价为零（{detail}），许可或转让不能无偿订立，请约定价款或提成"
    return [_core("consideration", "fee_form", message, CONSIDERATION_CITATION)]


def _royalty_needs_base(sheet: TermSheet, outcome: OutcomeFacts) -> list[Violation]:
    if sheet.value("royalty_base") != "none":
        return []
    found = []
    for name in ("royalty_rate", "annual_minimum"):
        value = sheet.value(name)
        if value:
            shown = format_value(value, _unit_of(name))
            message = (
                f"{_label(name)}为{shown}，但提成基数为“不提成”：提成比例和最低提成须有提成基数"
            )
            found.append(_core("royalty_needs_base", name, message))
    return found


def _milestone_order(sheet: TermSheet, outcome: OutcomeFacts) -> list[Violation]:
    order = [MILESTONE_EVENTS.index(m.event) for m in sheet.milestones]
    if order != sorted(order):
        message = (
            "里程碑须按发生顺序排列（中试完成→首台（套）产品交付→首笔销售收入→累计收入达到约定额）"
        )
        return [_core("milestone_order", "milestones", message)]
    thresholds = [m.threshold.value for m in sheet.milestones if m.threshold is not None]
    if any(later <= earlier for earlier, later in zip(thresholds, thresholds[1:], strict=False)):
        message = "“累计销售收入达到约定额”里程碑的约定额须逐项递增"
        return [_core("milestone_order", "milestones", message)]
    return []


def _use_first_is_free(sheet: TermSheet, outcome: OutcomeFacts) -> list[Violation]:
    """先免费使用: no entry fee, and nothing falls due inside the free window the sheet promises."""
    found = []
    if sheet.mode == "use_first" and sheet.value("entry_fee") != 0:
        shown = format_value(sheet.value("entry_fee"), "fen")
        message = f"入门费为{shown}：先用后转须零门槛费，入门费只能为0元"
        found.append(_core("use_first_entry_fee", "entry_fee", message, USE_FIRST_CITATION))
    if sheet.mode == "use_first":
        early = [m.event for m in sheet.milestones if m.event in PRE_REVENUE_EVENTS]
        if early:
            names = "、".join(format_value(e, "enum", "milestone_event") for e in early)
            message = (
                f"里程碑“{names}”发生在首笔销售收入之前，会落入免费使用期：先用后转的里程碑"
                "只能以销售收入触发，且不早于免费使用期届满时到期"
            )
            found.append(_core("use_first_free_window", "milestones", message, USE_FIRST_CITATION))
        ends = free_window_end(sheet)
        inside = [i for i in sheet.deferred_schedule if ends and i.due_on.value < ends]
        if inside:
            first = format_value(inside[0].due_on.value, "date")
            message = (
                f"延期支付{first}到期，早于免费使用期（含延至首笔销售收入）可能届满的"
                f"{format_value(ends, 'date')}：先用后转的分期款须在免费期届满后到期"
            )
            found.append(
                _core("use_first_free_window", "deferred_schedule", message, USE_FIRST_CITATION)
            )
        opens = sheet.value("conversion_opens_on")
        window = _months_after(sheet.value("start_on"), sheet.value("free_window_months"))
        if opens is not None and window is not None and opens < window:
            message = (
                f"后转选择权起始日{format_value(opens, 'date')}早于免费使用期届满日"
                f"{format_value(window, 'date')}：后转选择权须在免费使用期之后"
            )
            found.append(
                _core("use_first_free_window", "conversion_opens_on", message, USE_FIRST_CITATION)
            )
    schedule = sheet.deferred_schedule
    if schedule and min(i.due_on.value for i in schedule) <= sheet.value("start_on"):
        message = "延期支付计划：延期支付的任何一期都不能在签约（许可起始日）当日或之前到期"
        found.append(_core("deferred_after_signing", "deferred_schedule", message))
    return found


def _agreement_pricing_notice(sheet: TermSheet, outcome: OutcomeFacts) -> list[Violation]:
    required, days = sheet.value("notice_required"), sheet.value("notice_days")
    if notice_obligation(sheet, outcome):
        found = []
        if not required:
            message = (
                "协议定价须公示：国家设立的研究开发机构、高等院校协议定价的，应当在本单位公示"
                "科技成果名称和拟交易价格，此项不能为“否”"
            )
            found.append(
                _core(
                    "agreement_pricing_notice",
                    "notice_required",
                    message,
                    AGREEMENT_PRICING_CITATION,
                )
            )
        if days < NOTICE_MIN_DAYS:
            message = f"公示期为{days}日：协议定价公示期不少于{NOTICE_MIN_DAYS}日"
            found.append(_core("notice_days_minimum", "notice_days", message, NOTICE_DAYS_CITATION))
        return found
    method = sheet.value("pricing_method")
    if required and (outcome.owner_kind == "enterprise" or method != "negotiated"):
        why = (
            "企业自有成果"
            if outcome.owner_kind == "enterprise"
            else f"{format_value(method, 'enum', 'pricing_method')}定价"
        )
        message = f"协议定价须公示：{why}不适用协议定价公示（公示只适用于高校院所的协议定价）"
        return [
            _core(
                "agreement_pricing_notice", "notice_required", message, AGREEMENT_PRICING_CITATION
            )
        ]
    return []


def _risk_recorded(sheet: TermSheet, outcome: OutcomeFacts) -> list[Violation]:
    if sheet.value("risk_instrument") != "none" and sheet.value("risk_coverage") <= 0:
        message = "选用担保或保险分担履约风险时，须载明风险保障金额（大于0元）"
        return [_core("risk_recorded", "risk_coverage", message)]
    return []
