"""Simulator arithmetic against cases computed by hand (amounts in fen)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from licensing_support import TODAY, draft, with_terms

from market.licensing import RevenueScenario, SimulationError, scenario_band, simulate
from market.licensing.dates import add_months
from market.licensing.sheet import Instalment, Milestone, Term


def licence_sheet(**values):
    """A plain licence: no free window, no milestones, values as given."""
    base = draft("national-open-licence", "license")
    defaults = {"entry_fee": 0, "annual_minimum": 0, "annual_cap": None, "royalty_rate": 300}
    return with_terms(base, **{**defaults, **values})


def test_entry_fee_minimum_and_royalty_with_npv() -> None:
    sheet = licence_sheet(entry_fee=100_000, annual_minimum=20_000)
    scenario = RevenueScenario("base", (0, 1_000_000, 2_000_000))
    result = simulate(sheet, [scenario], Decimal("0.10"), years=3, buyout_price=150_000)
    rows = result.scenario("base").rows
    # Year 1: no sales → the 20,000 minimum; plus the 100,000 entry fee.
    assert [r.royalty for r in rows] == [20_000, 30_000, 60_000]
    assert [r.licensor_cash for r in rows] == [120_000, 30_000, 60_000]
    # 120000/1.1 + 30000/1.21 + 60000/1.331 = 178,963.19
    assert result.scenario("base").licensor_npv == 178_963
    # Licensee: 20% margin → profits 0, 200,000, 400,000.
    assert [r.licensee_cash for r in rows] == [-120_000, 170_000, 340_000]
    # -109,090.91 + 140,495.87 + 255,447.03 = 286,851.99
    assert result.scenario("base").licensee_npv == 286_852
    # Cumulative receipts 120,000 then 150,000 reach the 150,000 buyout in year 2.
    assert result.scenario("base").break_even_year == 2
    # Buyout: licensee NPV of profits 200000/1.21 + 400000/1.331 = 465,815.18, minus 150,000.
    assert result.scenario("base").buyout_licensee_npv == 315_815
    assert result.scenario("base").licence_advantage_to_licensor == 178_963 - 150_000


def test_zero_rate_npv_is_the_plain_sum() -> None:
    sheet = licence_sheet(entry_fee=7)
    result = simulate(sheet, [RevenueScenario("base", (1_000,))], "0", years=4)
    base = result.scenario("base")
    assert base.licensor_npv == sum(r.licensor_cash for r in base.rows) == 7 + 4 * 30


def test_free_window_prorates_the_royalty() -> None:
    sheet = licence_sheet(
        royalty_rate=500,
        free_window_months=18,
        free_window_max_months=18,
        free_window_until_first_revenue=False,
    )
    rows = simulate(sheet, [RevenueScenario("base", (1_200_000,))], "0", years=3).scenarios[0].rows
    assert [r.payable_months for r in rows] == [0, 6, 12]
    assert [r.royalty for r in rows] == [0, 30_000, 60_000]


def test_free_window_extends_to_the_first_revenue_year_within_its_maximum() -> None:
    sheet = licence_sheet(
        annual_minimum=12_000,
        free_window_months=12,
        free_window_max_months=60,
        free_window_until_first_revenue=True,
    )
    rows = (
        simulate(sheet, [RevenueScenario("base", (0, 0, 0, 1_000_000))], "0", years=5)
        .scenarios[0]
        .rows
    )
    assert [r.royalty for r in rows] == [0, 0, 0, 30_000, 30_000]
    capped = with_terms(sheet, free_window_max_months=24)
    rows = (
        simulate(capped, [RevenueScenario("base", (0, 0, 0, 1_000_000))], "0", years=4)
        .scenarios[0]
        .rows
    )
    # Window ends at month 24: year 3 owes the minimum although nothing sells yet.
    assert [r.royalty for r in rows] == [0, 0, 12_000, 30_000]


def test_annual_cap_limits_royalty() -> None:
    sheet = licence_sheet(royalty_rate=500, annual_cap=100_000)
    rows = simulate(sheet, [RevenueScenario("base", (10_000_000,))], "0", years=2).scenarios[0].rows
    assert [r.royalty for r in rows] == [100_000, 100_000]


def test_profit_base_uses_the_margin() -> None:
    sheet = licence_sheet(royalty_base="profit", royalty_rate=4000)
    scenario = RevenueScenario("base", (1_000_000,), profit_margin_bps=2500)
    rows = simulate(sheet, [scenario], "0", years=1).scenarios[0].rows
    assert rows[0].royalty == 100_000  # 40% of a 250,000 profit


def test_milestones_fall_in_their_event_years() -> None:
    sheet = replace(
        licence_sheet(),
        milestones=(
            Milestone("pilot_done", Term(1_000, "fen", "t")),
            Milestone("first_unit", Term(2_000, "fen", "t")),
            Milestone("first_revenue", Term(4_000, "fen", "t")),
            Milestone("revenue_at_least", Term(8_000, "fen", "t"), Term(250_000, "fen", "t")),
        ),
    )
    scenario = RevenueScenario(
        "base", (0, 100_000, 100_000, 100_000), pilot_done_year=1, first_unit_year=2
    )
    rows = simulate(with_terms(sheet, royalty_rate=0), [scenario], "0", years=4).scenarios[0].rows
    # Cumulative sales 0, 100,000, 200,000, 300,000: the 250,000 threshold is passed in year 4.
    assert [r.milestones for r in rows] == [1_000, 6_000, 0, 8_000]


def test_unreached_milestone_is_never_paid() -> None:
    sheet = replace(
        licence_sheet(royalty_rate=0),
        milestones=(Milestone("first_unit", Term(2_000, "fen", "t")),),
    )
    rows = simulate(sheet, [RevenueScenario("base", (0,))], "0", years=3).scenarios[0].rows
    assert sum(r.milestones for r in rows) == 0


def test_deferred_instalments_by_contract_year() -> None:
    sheet = draft("zhuhai-2025", "use_first", fee_form="deferred")
    schedule = (
        Instalment(Term(add_months(TODAY, 12), "date", "t"), Term(300, "fen", "t")),
        Instalment(Term(add_months(TODAY, 23), "date", "t"), Term(500, "fen", "t")),
    )
    sheet = replace(sheet, deferred_schedule=schedule)
    rows = simulate(sheet, [RevenueScenario("base", (0,))], "0", years=3).scenarios[0].rows
    # Due at month 12 → contract year 2; due at month 23 → still year 2.
    assert [r.deferred for r in rows] == [0, 800, 0]


def test_low_base_high_band_and_default_horizon() -> None:
    sheet = licence_sheet()
    band = scenario_band(RevenueScenario("base", (1_000_000,)))
    result = simulate(sheet, band, "0.08")
    assert result.years == 10
    royalties = [s.rows[0].royalty for s in result.scenarios]
    assert [s.name for s in result.scenarios] == ["low", "base", "high"]
    assert royalties == [15_000, 30_000, 45_000]
    data = result.to_dict()
    assert data["discount_rate"] == "0.08"
    assert len(data["chart"]["cumulative_licensor"]["high"]) == 10


def test_buyout_defaults_to_the_conversion_price() -> None:
    sheet = licence_sheet()
    result = simulate(sheet, [RevenueScenario("base", (0,))], "0.05", years=1)
    assert result.buyout_price == sheet.value("conversion_price")
    assert result.scenarios[0].break_even_year is None


@pytest.mark.parametrize("rate", [0.08, "-0.01", "1", "eight"])
def test_bad_discount_rates(rate) -> None:
    with pytest.raises(SimulationError):
        simulate(licence_sheet(), [RevenueScenario("base", (0,))], rate)


def test_needs_a_scenario() -> None:
    with pytest.raises(SimulationError):
        simulate(licence_sheet(), [], "0.1")


def test_simulation_dict_is_json_and_svg_chart_parses() -> None:
    import json
    import xml.etree.ElementTree as ET

    from market.licensing.charts import simulation_svg

    band = scenario_band(RevenueScenario("base", (0, 1_000_000, 2_000_000)))
    result = simulate(licence_sheet(entry_fee=50_000), band, "0.08", years=3)
    assert json.loads(json.dumps(result.to_dict()))["years"] == 3
    root = ET.fromstring(simulation_svg(result))
    ns = "{http://www.w3.org/2000/svg}"
    lines = root.findall(f"{ns}polyline")
    assert len(lines) == 4  # buyout + low/base/high
    assert all(len(line.get("points").split()) == 3 for line in lines)
    texts = {t.text for t in root.iter(f"{ns}text")}
    assert {"一次性买断", "保守情景", "基准情景", "乐观情景", "第1年", "第3年"} <= texts


def test_first_unit_and_pilot_fall_due_by_the_first_sales_year_when_not_given() -> None:
    """The term-sheet page gives only sales: 中试完成 and 首台交付 must still be paid."""
    sheet = replace(
        licence_sheet(royalty_rate=0),
        milestones=(
            Milestone("pilot_done", Term(1_000, "fen", "t")),
            Milestone("first_unit", Term(2_000, "fen", "t")),
            Milestone("first_revenue", Term(4_000, "fen", "t")),
        ),
    )
    base = simulate(sheet, [RevenueScenario("base", (0, 0, 50_000))], "0", years=4).scenarios[0]
    assert [r.milestones for r in base.rows] == [0, 0, 7_000, 0]
    assert [(p.ref, p.year) for p in base.payments] == [
        ("pilot_done", 3),
        ("first_unit", 3),
        ("first_revenue", 3),
    ]
    assert base.unpaid == ()


def test_payments_list_every_fixed_sum_of_the_sheet() -> None:
    sheet = draft("zhuhai-2025", "use_first", fee_form="deferred")
    schedule = (
        Instalment(Term(add_months(TODAY, 18), "date", "t"), Term(300, "fen", "t")),
        Instalment(Term(add_months(TODAY, 200), "date", "t"), Term(500, "fen", "t")),
    )
    sheet = replace(sheet, deferred_schedule=schedule)
    base = simulate(sheet, [RevenueScenario("base", (1_000,))], "0", years=3).scenarios[0]
    assert [(p.kind, p.amount, p.year) for p in base.payments] == [
        ("instalment", 300, 2),
        ("instalment", 500, None),  # beyond the three simulated years
    ]
    assert base.unpaid == (base.payments[1],)
    assert base.to_dict()["payments"][0]["ref"] == add_months(TODAY, 18).isoformat()
