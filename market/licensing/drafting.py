"""Drafting: outcome + licensee + mode + profile → a TermSheet whose every number names its source.

Each term starts from a practice default, then is moved into the bounds of every applicable
rule; the rule that moved it becomes its source. The finished sheet is validated, so a drafted
sheet is valid or drafting fails with DraftError naming the rules that could not be met.
"""

from __future__ import annotations

import logging
from datetime import date

from market.licensing.dates import add_months, add_years, whole_months_between
from market.licensing.errors import DraftError, MissingFacts, UnsupportedMode
from market.licensing.facts import LicenseeFacts, OutcomeFacts
from market.licensing.formatting import percent, yuan
from market.licensing.labels import ENUM_LABELS
from market.licensing.profiles import Profile, Rule
from market.licensing.sheet import PRE_REVENUE_EVENTS, Instalment, Milestone, Term, TermSheet
from market.licensing.validation import (
    AGREEMENT_PRICING_CITATION,
    NOTICE_DAYS_CITATION,
    NOTICE_MIN_DAYS,
    USE_FIRST_CITATION,
    applies,
    notice_obligation,
    scope_warnings,
    validate,
)

logger = logging.getLogger(__name__)

SUPPORTED_MODES = ("use_first", "license", "open_license", "transfer", "equity")
LICENSE_MODES = ("use_first", "license")  # modes that carry a 后转 option
FIELD_CHECKS = ("bounds", "bounds_of_price", "one_of", "equals")
CORE_FEE_FORM = "core:fee_form_consistency"
CORE_PATENT_LIFE = "core:term_within_patent_life"
PATENT_LIFE_CITATION = "《中华人民共和国专利法》第四十二条"
CORE_USE_FIRST = "core:use_first_free_window"
CORE_NOTICE = "core:agreement_pricing_notice"
CORE_NOTICE_DAYS = "core:notice_days_minimum"
EQUITY_CITATION = "《中华人民共和国促进科技成果转化法》第十六条第（五）项"
EMPOWERMENT_SHARE_RULE = "empowerment_team_share"
USE_RIGHT_RULE = "long_term_use_right"
USE_FIRST_MILESTONE_CLAUSE = (
    "先用后转付款时间：各项里程碑款在触发事件发生与免费使用期届满（含延至首笔销售收入）"
    "两者中较晚者到期，免费使用期内不发生任何付款义务。"
)


def draft_terms(
    outcome: OutcomeFacts,
    licensee: LicenseeFacts,
    mode: str,
    profile: Profile,
    today: date,
    *,
    fee_form: str | None = None,
) -> TermSheet:
    """Draft version 1 of a term sheet for `mode` (先用后转 use_first, license, open_license,
    transfer, 作价入股 equity) under `profile`, starting on `today`."""
    if mode not in SUPPORTED_MODES:
        raise UnsupportedMode(
            f"合作方式 {mode!r} 暂无条款模板（支持：{', '.join(SUPPORTED_MODES)}）"
        )
    price = outcome.base_price_fen
    if not price:
        raise MissingFacts("成果缺少报价或估值，无法测算价格相关条款")
    sheet = _Drafter(outcome, licensee, mode, profile, today, price).build(fee_form)
    violations = validate(sheet, profile, outcome)
    if violations:
        logger.info("draft under %s refused: %s", profile.key, [v.rule_id for v in violations])
        raise DraftError("按该档案无法生成合规条款", violations)
    return sheet


class _Drafter:
    def __init__(
        self,
        outcome: OutcomeFacts,
        licensee: LicenseeFacts,
        mode: str,
        profile: Profile,
        today: date,
        price: int,
    ) -> None:
        self.outcome, self.licensee, self.mode = outcome, licensee, mode
        self.profile, self.today, self.price = profile, today, price
        self.terms: dict[str, Term] = {}
        self.milestones: tuple[Milestone, ...] = ()
        self.schedule: tuple[Instalment, ...] = ()
        self.warnings: list[str] = []
        self.empowerment: list[str] = []

    # -- helpers ---------------------------------------------------------------------------

    def sheet(self) -> TermSheet:
        return TermSheet(
            profile_key=self.profile.key,
            mode=self.mode,
            drafted_on=self.today,
            terms=dict(self.terms),
            milestones=self.milestones,
            deferred_schedule=self.schedule,
            licensee_is_sme=self.licensee.is_sme,
            licensee_region=self.licensee.region,
            outcome_ref=self.outcome.ref,
            notes=(*self.empowerment, *self._notes()),
            warnings=tuple(self.warnings),
        )

    def resolve(self, rule_id: str) -> object:
        rule = self.profile.rule(rule_id)
        return rule.value_for(self.mode, self.outcome.maturity, self.outcome.field_code)

    def default(self, rule_id: str, unit: str) -> Term:
        """The practice default named `rule_id`, converted to money when it is a share of price."""
        rule = self.profile.rule(rule_id)
        value = self.resolve(rule_id)
        if rule.unit == "bps_of_price":
            value = self.of_price(value)
        return Term(value, unit, rule.source, str(rule.citation))

    def of_price(self, bps: object) -> int:
        return self.price * int(bps) // 10000

    def settle(self, field: str, term: Term) -> Term:
        """Move `term` into the bounds of every applicable rule on `field`, then store it."""
        for rule in self._field_rules(field):
            term = _clamp(rule, term, self.price)
        self.terms[field] = term
        return term

    def _field_rules(self, field: str) -> list[Rule]:
        current = self.sheet()
        return [
            rule
            for rule in self.profile.rules.values()
            if rule.field == field
            and rule.check in FIELD_CHECKS
            and applies(rule, current, self.outcome)
        ]

    def _notes(self) -> tuple[str, ...]:
        notes = [USE_FIRST_MILESTONE_CLAUSE] if self.mode == "use_first" else []
        for rule in self.profile.rules.values():
            if rule.check == "info" and (not rule.modes or self.mode in rule.modes):
                text = rule.note or rule.citation.excerpt
                notes.append(f"{rule.label}：{text}（{rule.citation}）")
        return tuple(notes)

    # -- build -----------------------------------------------------------------------------

    def build(self, fee_form: str | None) -> TermSheet:
        self._price_and_form(fee_form)
        self._equity()
        self._dates()
        self._free_window()
        self._royalty()
        self._fixed_fees()
        self._conversion()
        for field in ("exclusivity", "territory"):
            self.settle(field, self.default(field, "enum" if field == "exclusivity" else "text"))
        self._risk()
        self._exit_and_shares()
        self._warn_budget()
        self.warnings.extend(scope_warnings(self.profile, self.sheet(), self.outcome))
        self._empowerment()
        return self.sheet()

    def _empowerment(self) -> None:
        """赋权 recorded on the outcome, shown on its sheet; checked against the profile's 赋权
        rule (深圳 措施（十二）: ownership share ≥ 70% or a 10-year long-term use right)."""
        share, years = self.outcome.team_ownership_bps, self.outcome.use_right_years
        share_rule = self.profile.get(EMPOWERMENT_SHARE_RULE)
        years_rule = self.profile.get(USE_RIGHT_RULE)
        if share is not None and share > 0:
            self.empowerment.append(
                f"赋权：成果完成人（团队）按份共有本成果，所有权份额{percent(share)}"
            )
            if share_rule is not None and share < int(share_rule.value):
                self.warnings.append(
                    f"赋权份额{percent(share)}低于“{share_rule.label}”"
                    f"（{percent(int(share_rule.value))}，{share_rule.citation}）"
                )
        if years is not None:
            self.empowerment.append(f"赋权：成果完成人（团队）享有本成果长期使用权{years}年")
            if years_rule is not None and years != int(years_rule.value):
                self.warnings.append(
                    f"长期使用权{years}年与“{years_rule.label}”不符"
                    f"（{years_rule.value}年，{years_rule.citation}）"
                )

    def _price_and_form(self, fee_form: str | None) -> None:
        source = (
            "fact:asking_price" if self.outcome.asking_price_fen is not None else "fact:valuation"
        )
        self.terms["base_price"] = Term(self.price, "fen", source)
        form = self.default("fee_form", "enum")
        if fee_form is not None:
            form = Term(fee_form, "enum", "fact:requested_fee_form")
        if (self.mode == "equity") != (form.value == "equity"):
            # 作价入股 is paid in shares and only in shares; other modes are never paid that way.
            label = ENUM_LABELS["fee_form"].get(str(fee_form), str(fee_form))
            self.warnings.append(f"付费方式“{label}”不适用于该合作方式，已改为默认方式")
            form, fee_form = self.default("fee_form", "enum"), None
        form = self.settle("fee_form", form)
        if fee_form is not None and form.value != fee_form:
            self.warnings.append(f"所选付费方式不符合“{form.citation}”，已改为允许的方式")
        base = self.default("royalty_base", "enum")
        if form.value in ("deferred", "lump_sum", "equity"):
            base = Term("none", "enum", CORE_FEE_FORM)
        self.settle("royalty_base", base)

    def _equity(self) -> None:
        """作价入股: the outcome is contributed at its price for shares (促进法 第十六条第（五）项);
        the share percentage depends on the company's capital and is left to negotiation."""
        if self.mode != "equity":
            self.terms["equity_value"] = Term(None, "fen", "fact:mode")
            self.terms["equity_share_bps"] = Term(None, "bps", "fact:mode")
            return
        price = self.terms["base_price"]
        self.terms["equity_value"] = Term(self.price, "fen", price.source, EQUITY_CITATION)
        self.terms["equity_share_bps"] = Term(
            None, "bps", "fact:to_negotiate", "按被投资企业注册资本协商"
        )

    def _dates(self) -> None:
        start = Term(self.today, "date", "fact:drafted_on")
        self.terms["start_on"] = start
        end = self.default("term_years", "years")
        end = Term(add_years(self.today, int(end.value)), "date", end.source, end.citation)
        latest = self.outcome.latest_expiry(self.today)
        if self.outcome.patents and latest is None:
            raise DraftError("成果无有效专利，无法起草许可条款")
        if latest is not None and latest < end.value:
            end = Term(latest, "date", CORE_PATENT_LIFE, PATENT_LIFE_CITATION)
        self.terms["end_on"] = end

    def _free_window(self) -> None:
        window = self.settle("free_window_months", self.default("free_window_months", "months"))
        until = self.default("free_window_until_first_revenue", "bool")
        if until.value and self.terms["fee_form"].value == "deferred":
            # Instalments fall on fixed dates after the window, so the window has a fixed end too.
            until = Term(
                False, "bool", CORE_FEE_FORM, "延期支付按约定日期分期，免费期不延至首笔收入"
            )
        self.terms["free_window_until_first_revenue"] = until
        longest = self.settle(
            "free_window_max_months", self.default("free_window_max_months", "months")
        )
        if longest.value < window.value or not until.value:
            longest = Term(window.value, "months", window.source, window.citation)
        room = whole_months_between(self.today, self.terms["end_on"].value)
        if window.value > room:
            raise DraftError(f"专利剩余保护期（{room}个月）短于免费使用期（{window.value}个月）")
        if until.value and longest.value > room:
            longest = Term(room, "months", CORE_PATENT_LIFE, PATENT_LIFE_CITATION)
        self.terms["free_window_max_months"] = longest

    def _royalty(self) -> None:
        has_royalty = self.terms["royalty_base"].value != "none"
        rate = self.default("royalty_rate", "bps") if has_royalty else Term(0, "bps", CORE_FEE_FORM)
        self.settle("royalty_rate", rate)
        if not has_royalty:
            self.terms["annual_minimum"] = Term(0, "fen", CORE_FEE_FORM)
            self.terms["annual_cap"] = Term(None, "fen", CORE_FEE_FORM)
            return
        minimum = self.settle("annual_minimum", self.default("annual_minimum", "fen"))
        cap = self.default("annual_cap", "fen")
        if cap.value < minimum.value:
            cap = Term(minimum.value, "fen", minimum.source, minimum.citation)
        self.terms["annual_cap"] = cap

    def _fixed_fees(self) -> None:
        form = self.terms["fee_form"].value
        entry = self.default("entry_fee", "fen")
        if form == "deferred" and self.mode == "transfer":
            entry = Term(0, "fen", CORE_FEE_FORM)  # the whole price moves into the instalments
        elif form == "lump_sum" and self.mode != "use_first":
            # 一次总付 (民法典 第八百四十六条): the price itself, paid once.
            entry = Term(self.price, "fen", CORE_FEE_FORM, "一次性支付：入门费即全部价款")
        self.settle("entry_fee", entry)
        if form == "milestone_royalty":
            self.milestones = self._planned_milestones()
        elif form == "deferred":
            self.schedule = self._deferred_schedule()
        self._cap_fixed_fees()

    def _planned_milestones(self) -> tuple[Milestone, ...]:
        rule = self.profile.rule("milestone_plan")
        source, citation = rule.source, str(rule.citation)
        threshold = self.default("milestone_revenue_threshold", "fen")
        plan = []
        for step in self.resolve("milestone_plan"):
            amount = Term(self.of_price(step["bps"]), "fen", source, citation)
            limit = threshold if step["event"] == "revenue_at_least" else None
            if limit is not None and limit.value <= 0:
                continue
            plan.append(Milestone(step["event"], amount, limit))
        if self.mode == "use_first":
            plan = _after_first_revenue(plan)
        return tuple(plan)

    def _deferred_schedule(self) -> tuple[Instalment, ...]:
        total = self.default("deferred_fee", "fen")
        count_rule = self.profile.rule("deferred_instalments")
        low, high = count_rule.bounds or (None, None)
        count = _clip(int(self.resolve("deferred_instalments")), low, high)
        # 延期支付 is deferred: never at signing, and under 先用后转 only after the free window.
        first = max(
            self.terms["free_window_months"].value, int(self.resolve("deferred_first_due_months"))
        )
        end = self.terms["end_on"].value
        dues = [add_months(self.today, first + 12 * i) for i in range(count)]
        dues = [d for d in dues if d <= end] or [end]
        shares = _split(total.value, len(dues))
        return tuple(
            Instalment(
                Term(due, "date", count_rule.source, str(count_rule.citation)),
                Term(amount, "fen", total.source, total.citation),
            )
            for due, amount in zip(dues, shares, strict=True)
        )

    def _cap_fixed_fees(self) -> None:
        """Scale milestones / instalments down until every fixed-fee ceiling holds."""
        current = self.sheet()
        for rule in self._ceiling_rules(current):
            ceiling = _ceiling(rule, self.price)
            variable = current.value("milestone_total") + current.value("deferred_total")
            fixed = (
                variable if rule.field == "milestone_total" else current.value("fixed_fee_total")
            )
            if fixed <= ceiling:
                continue
            if variable == 0 and rule.field == "fixed_fee_total":
                self.terms["entry_fee"] = Term(ceiling, "fen", rule.source, str(rule.citation))
                current = self.sheet()
                continue
            room = max(ceiling - (fixed - variable), 0)
            self.milestones = tuple(
                _scale_milestone(m, room, variable, rule) for m in self.milestones
            )
            self.schedule = tuple(_scale_instalment(i, room, variable, rule) for i in self.schedule)
            current = self.sheet()

    def _ceiling_rules(self, current: TermSheet) -> list[Rule]:
        return [
            rule
            for rule in self.profile.rules.values()
            if rule.field in ("milestone_total", "fixed_fee_total")
            and rule.check in ("bounds", "bounds_of_price")
            and rule.bounds is not None
            and rule.bounds[1] is not None
            and applies(rule, current, self.outcome)
        ]

    def _conversion(self) -> None:
        credit = self.default("conversion_credit_paid_fees", "bool")
        self.terms["conversion_credit_paid_fees"] = credit
        none = Term(None, "fen", "fact:mode")
        for name in ("conversion_price", "conversion_opens_on", "conversion_closes_on"):
            self.terms[name] = (
                none if name == "conversion_price" else Term(None, "date", none.source)
            )
        if self.mode not in LICENSE_MODES:
            return
        window_rule = self.profile.rule("conversion_window_months")
        opens = add_months(self.today, self.terms["free_window_months"].value)
        closes = min(
            add_months(opens, int(self.resolve("conversion_window_months"))),
            self.terms["end_on"].value,
        )
        shortest = (window_rule.bounds or (0, None))[0] or 0
        if opens >= closes or whole_months_between(opens, closes) < shortest:
            self.warnings.append("许可剩余期限不足，未设置后转选择权")
            return
        self.terms["conversion_opens_on"] = Term(
            opens, "date", window_rule.source, str(window_rule.citation)
        )
        self.terms["conversion_closes_on"] = Term(
            closes, "date", window_rule.source, str(window_rule.citation)
        )
        self.settle("conversion_price", self.default("conversion_price", "fen"))

    def _risk(self) -> None:
        instrument = self.settle("risk_instrument", self.default("risk_instrument", "enum"))
        if instrument.value == "none":
            coverage = Term(0, "fen", instrument.source, instrument.citation)
            self.terms["risk_coverage"] = coverage
        else:
            self.settle("risk_coverage", self.default("risk_coverage", "fen"))
        self.terms["risk_provider"] = Term("", "text", instrument.source, instrument.citation)

    def _exit_and_shares(self) -> None:
        self.terms["exit_free_in_window"] = self.default("exit_free_in_window", "bool")
        for field, unit in (
            ("termination_notice_days", "days"),
            ("cure_days", "days"),
            ("team_income_share", "bps"),
            ("broker_reward_share", "bps"),
            ("pricing_method", "enum"),
            ("notice_required", "bool"),
            ("notice_days", "days"),
        ):
            self.settle(field, self.default(field, unit))
        self._notice()

    def _notice(self) -> None:
        """促进法 第十八条 decides whether the price is published; the national rules its length."""
        required = notice_obligation(self.sheet(), self.outcome)
        if required:
            self.terms["notice_required"] = Term(
                True, "bool", CORE_NOTICE, AGREEMENT_PRICING_CITATION
            )
            days = self.terms["notice_days"]
            if days.value < NOTICE_MIN_DAYS:
                self.terms["notice_days"] = Term(
                    NOTICE_MIN_DAYS, "days", CORE_NOTICE_DAYS, NOTICE_DAYS_CITATION
                )
        elif self.outcome.owner_kind == "enterprise" or self.terms["pricing_method"].value != (
            "negotiated"
        ):
            self.terms["notice_required"] = Term(
                False,
                "bool",
                CORE_NOTICE,
                f"{AGREEMENT_PRICING_CITATION}（只约束高校院所的协议定价）",
            )

    def _warn_budget(self) -> None:
        budget = self.licensee.budget_fen
        if budget is None:
            return
        first_year = self.terms["entry_fee"].value + sum(
            i.amount.value for i in self.schedule if i.due_on.value < add_years(self.today, 1)
        )
        if first_year > budget:
            self.warnings.append(f"首年固定支付{yuan(first_year)}超出企业预算{yuan(budget)}")
        if self.price > budget and self.mode == "transfer":
            self.warnings.append(
                f"转让价款{yuan(self.price)}超出企业预算{yuan(budget)}，可考虑先用后转"
            )


def _after_first_revenue(plan: list[Milestone]) -> list[Milestone]:
    """先用后转: milestones that would fall before first revenue (中试, 首台套) are paid with the
    first-revenue milestone instead, so nothing falls due inside the free window."""
    early = [m for m in plan if m.event in PRE_REVENUE_EVENTS]
    later = [m for m in plan if m.event not in PRE_REVENUE_EVENTS]
    if not early:
        return plan
    moved = sum(int(m.amount.value) for m in early)
    first = next((m for m in later if m.event == "first_revenue"), None)
    amount = moved + (int(first.amount.value) if first else 0)
    merged = Milestone("first_revenue", Term(amount, "fen", CORE_USE_FIRST, USE_FIRST_CITATION))
    return [merged, *(m for m in later if m.event != "first_revenue")]


def _clip(value: int, low: int | None, high: int | None) -> int:
    if low is not None and value < low:
        return low
    if high is not None and value > high:
        return high
    return value


def _clamp(rule: Rule, term: Term, price: int) -> Term:
    """`term` moved into `rule`; unchanged when it already complies."""
    value = term.value
    if rule.check == "bounds" and value is not None:
        low, high = rule.bounds or (None, None)
        value = _clip(value, low, high)
    elif rule.check == "bounds_of_price" and value is not None:
        low, high = rule.bounds or (None, None)
        value = _clip(value, _floor_money(low, price, up=True), _floor_money(high, price))
    elif rule.check == "one_of" and value not in rule.value:
        value = rule.value[0]
    elif rule.check == "equals":
        value = rule.value
    if value == term.value:
        return term
    return Term(value, term.unit, rule.source, str(rule.citation))


def _floor_money(bps: int | None, price: int, up: bool = False) -> int | None:
    if bps is None:
        return None
    return -(-bps * price // 10000) if up else bps * price // 10000


def _ceiling(rule: Rule, price: int) -> int:
    high = rule.bounds[1]
    return high * price // 10000 if rule.check == "bounds_of_price" else high


def _split(total: int, parts: int) -> list[int]:
    """Equal shares with the remainder in the last part, so the parts sum to total exactly."""
    share = total // parts
    return [share] * (parts - 1) + [total - share * (parts - 1)]


def _scale_milestone(m: Milestone, room: int, total: int, rule: Rule) -> Milestone:
    amount = m.amount.value * room // total if total else 0
    return Milestone(m.event, Term(amount, "fen", rule.source, str(rule.citation)), m.threshold)


def _scale_instalment(i: Instalment, room: int, total: int, rule: Rule) -> Instalment:
    amount = i.amount.value * room // total if total else 0
    return Instalment(i.due_on, Term(amount, "fen", rule.source, str(rule.citation)))
