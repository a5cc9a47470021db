"""Cash-flow simulator: what each party pays and receives per contract year under low/base/high
revenue scenarios, NPV at a chosen discount rate, and a comparison with a one-off buyout (一次性买断).

Conventions, so results can be checked by hand:
- contract year t (1-based) covers months 12(t−1)…12t after the start date; flows fall at year end;
- net sales accrue evenly over a year, so a year partly inside the free window pays royalty on the
  payable months only (sales × rate × payable_months / 12, rounded down to the fen);
- the annual minimum and cap are prorated the same way; the free window lasts `free_window_months`,
  or until the start of the first year with sales when the sheet extends it to first revenue, never
  beyond `free_window_max_months`;
- the entry fee falls in year 1, a milestone in the year its event happens (under 先用后转 not
  before the year in which the free window ends: nothing is due inside it), an instalment in the
  contract year containing its due date; the buyout price is paid at t = 0 (not discounted);
- 中试完成 and 首台（套）交付 happen in the years the scenario gives, else by the first year with
  sales (a product is made and delivered before it is sold); with no sales they do not happen;
- every fixed payment the sheet names (入门费, each milestone, each instalment) is listed in
  `ScenarioResult.payments` with its year, or with None when it falls outside the horizon;
- NPV = Σ cash_t / (1 + r)^t, rounded half-even to the fen.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from market.licensing.dates import whole_months_between
from market.licensing.errors import SimulationError
from market.licensing.facts import RevenueScenario
from market.licensing.sheet import Milestone, TermSheet

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class YearRow:
    year: int
    net_sales: int
    payable_months: int
    entry_fee: int
    milestones: int
    royalty: int
    deferred: int
    licensor_cash: int
    licensee_profit: int
    licensee_cash: int
    cumulative_licensor: int

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Payment:
    """One fixed sum the sheet names and the contract year it falls in under a scenario.

    `kind` is "entry_fee", "milestone" or "instalment"; `ref` the milestone event or the
    instalment's due date (ISO); `year` None when it is not due within the simulated years."""

    kind: str
    ref: str
    amount: int
    year: int | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    rows: tuple[YearRow, ...]
    licensor_npv: int
    licensee_npv: int
    buyout_licensor_npv: int
    buyout_licensee_npv: int
    break_even_year: int | None
    payments: tuple[Payment, ...] = ()

    @property
    def unpaid(self) -> tuple[Payment, ...]:
        """Payments on the sheet that do not fall due within the simulated years."""
        return tuple(p for p in self.payments if p.year is None)

    @property
    def licence_advantage_to_licensor(self) -> int:
        """Licensor NPV of the licence minus that of the buyout (positive: licence pays more)."""
        return self.licensor_npv - self.buyout_licensor_npv

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rows": [r.to_dict() for r in self.rows],
            "licensor_npv": self.licensor_npv,
            "licensee_npv": self.licensee_npv,
            "buyout_licensor_npv": self.buyout_licensor_npv,
            "buyout_licensee_npv": self.buyout_licensee_npv,
            "licence_advantage_to_licensor": self.licence_advantage_to_licensor,
            "break_even_year": self.break_even_year,
            "payments": [p.to_dict() for p in self.payments],
        }


@dataclass(frozen=True)
class SimulationResult:
    discount_rate: Decimal
    years: int
    buyout_price: int
    scenarios: tuple[ScenarioResult, ...]

    def scenario(self, name: str) -> ScenarioResult:
        return next(s for s in self.scenarios if s.name == name)

    def chart_series(self) -> dict[str, Any]:
        """Cumulative licensor receipts per scenario against the buyout line, for a chart."""
        return {
            "years": list(range(1, self.years + 1)),
            "buyout": [self.buyout_price] * self.years,
            "cumulative_licensor": {
                s.name: [r.cumulative_licensor for r in s.rows] for s in self.scenarios
            },
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "discount_rate": str(self.discount_rate),
            "years": self.years,
            "buyout_price": self.buyout_price,
            "scenarios": [s.to_dict() for s in self.scenarios],
            "chart": self.chart_series(),
        }


def simulate(
    sheet: TermSheet,
    scenarios: Sequence[RevenueScenario],
    discount_rate: Decimal | str | int,
    years: int | None = None,
    *,
    buyout_price: int | None = None,
) -> SimulationResult:
    """Per-year cash flows, NPVs and buyout comparison for each scenario.

    `buyout_price` defaults to the sheet's 后转 price, else its base price.
    """
    rate = _rate(discount_rate)
    if not scenarios:
        raise SimulationError("至少需要一个收入情景")
    horizon = years if years is not None else _term_years(sheet)
    if horizon < 1:
        raise SimulationError("模拟年限至少为1年")
    if buyout_price is None:
        buyout_price = sheet.value("conversion_price") or sheet.value("base_price")
    results = tuple(_run(sheet, s, rate, horizon, buyout_price) for s in scenarios)
    return SimulationResult(rate, horizon, buyout_price, results)


def npv(cash: Sequence[int], rate: Decimal) -> int:
    """Σ cash[t-1] / (1 + rate)^t for t = 1…n, in fen."""
    total = sum(
        (Decimal(c) / (1 + rate) ** t for t, c in enumerate(cash, start=1)), start=Decimal(0)
    )
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _rate(discount_rate: Decimal | str | int) -> Decimal:
    if isinstance(discount_rate, float):
        raise SimulationError("贴现率请用 Decimal 或字符串（如 '0.08'），避免浮点误差")
    try:
        rate = Decimal(discount_rate)
    except ArithmeticError as e:
        raise SimulationError(f"贴现率 {discount_rate!r} 无效") from e
    if not Decimal(0) <= rate < Decimal(1):
        raise SimulationError("贴现率须在 0 与 1 之间（8% 写作 0.08）")
    return rate


def _term_years(sheet: TermSheet) -> int:
    months = whole_months_between(sheet.value("start_on"), sheet.value("end_on"))
    return max(1, -(-months // 12))


def _run(
    sheet: TermSheet, scenario: RevenueScenario, rate: Decimal, horizon: int, buyout: int
) -> ScenarioResult:
    free = _free_months(sheet, scenario, horizon)
    term_months = whole_months_between(sheet.value("start_on"), sheet.value("end_on"))
    after = -(-free // 12) if sheet.mode == "use_first" else 1
    payments = _payments(sheet, scenario, horizon, after)
    rows, cumulative = [], 0
    for year in range(1, horizon + 1):
        row = _year_row(sheet, scenario, year, free, term_months, payments, cumulative)
        cumulative = row.cumulative_licensor
        rows.append(row)
    licensor = [r.licensor_cash for r in rows]
    profits = [r.licensee_profit for r in rows]
    return ScenarioResult(
        name=scenario.name,
        rows=tuple(rows),
        licensor_npv=npv(licensor, rate),
        licensee_npv=npv([r.licensee_cash for r in rows], rate),
        buyout_licensor_npv=buyout,
        buyout_licensee_npv=npv(profits, rate) - buyout,
        break_even_year=next((r.year for r in rows if r.cumulative_licensor >= buyout), None),
        payments=payments,
    )


def _year_row(
    sheet: TermSheet,
    scenario: RevenueScenario,
    year: int,
    free: int,
    term_months: int,
    payments: tuple[Payment, ...],
    cumulative: int,
) -> YearRow:
    sales = scenario.sales_in(year)
    payable = _payable_months(year, free, term_months)

    def due(kind: str) -> int:
        return sum(p.amount for p in payments if p.kind == kind and p.year == year)

    entry, milestones, deferred = due("entry_fee"), due("milestone"), due("instalment")
    royalty = _royalty(sheet, sales, scenario.profit_margin_bps, payable)
    paid = entry + milestones + royalty + deferred
    profit = sales * scenario.profit_margin_bps // 10000
    return YearRow(
        year=year,
        net_sales=sales,
        payable_months=payable,
        entry_fee=entry,
        milestones=milestones,
        royalty=royalty,
        deferred=deferred,
        licensor_cash=paid,
        licensee_profit=profit,
        licensee_cash=profit - paid,
        cumulative_licensor=cumulative + paid,
    )


def _free_months(sheet: TermSheet, scenario: RevenueScenario, horizon: int) -> int:
    free = sheet.value("free_window_months")
    if not sheet.value("free_window_until_first_revenue"):
        return free
    first = next((y for y in range(1, horizon + 1) if scenario.sales_in(y) > 0), None)
    first_revenue_month = 12 * (first - 1) if first else sheet.value("free_window_max_months")
    return min(max(free, first_revenue_month), sheet.value("free_window_max_months"))


def _payable_months(year: int, free: int, term_months: int) -> int:
    start, end = 12 * (year - 1), min(12 * year, term_months)
    return max(0, end - max(start, free))


def _royalty(sheet: TermSheet, sales: int, margin_bps: int, payable: int) -> int:
    base_kind = sheet.value("royalty_base")
    if base_kind == "none" or payable == 0:
        return 0
    base = sales if base_kind == "net_sales" else sales * margin_bps // 10000
    royalty = base * sheet.value("royalty_rate") * payable // (10000 * 12)
    royalty = max(royalty, sheet.value("annual_minimum") * payable // 12)
    cap = sheet.value("annual_cap")
    return royalty if cap is None else min(royalty, cap * payable // 12)


def _payments(
    sheet: TermSheet, scenario: RevenueScenario, horizon: int, earliest: int = 1
) -> tuple[Payment, ...]:
    """Every fixed payment on the sheet with the year it falls due (None: beyond the horizon)."""

    def within(year: int | None) -> int | None:
        return year if year is not None and 1 <= year <= horizon else None

    found = []
    entry = sheet.value("entry_fee") or 0
    if entry:
        found.append(Payment("entry_fee", "", entry, within(1)))
    for m in sheet.milestones:
        year = _event_year(m, scenario, horizon)
        found.append(
            Payment(
                "milestone",
                m.event,
                m.amount.value,
                within(None if year is None else max(year, earliest)),
            )
        )
    for i in sheet.deferred_schedule:
        year = _year_of(sheet, i.due_on.value)
        found.append(
            Payment("instalment", i.due_on.value.isoformat(), i.amount.value, within(year))
        )
    return tuple(found)


def _event_year(m: Milestone, scenario: RevenueScenario, horizon: int) -> int | None:
    first_sale = next((y for y in range(1, horizon + 1) if scenario.sales_in(y) > 0), None)
    if m.event == "pilot_done":
        return scenario.pilot_done_year or first_sale
    if m.event == "first_unit":
        return scenario.first_unit_year or first_sale
    running = 0
    for year in range(1, horizon + 1):
        running += scenario.sales_in(year)
        if m.event == "first_revenue" and scenario.sales_in(year) > 0:
            return year
        if m.event == "revenue_at_least" and m.threshold and running >= m.threshold.value:
            return year
    return None


def _year_of(sheet: TermSheet, day: Any) -> int:
    return whole_months_between(sheet.value("start_on"), day) // 12 + 1
