"""Issue 18's rules, checked from the sheet's own values over thousands of random drafts and edits.

The checks below are written from the issue's text, not from validate(): they would catch a rule
that validate() forgot. Inputs cover every profile, mode (作价入股 included), fee form, owner kind,
licensee kind and dates with month ends and 2028-02-29.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from licensing_support import profile, profiles

from market.licensing import (
    DraftError,
    LicenseeFacts,
    LicensingError,
    OutcomeFacts,
    PatentFacts,
    TermSheet,
    TermsViolation,
    UnsupportedMode,
    apply_edit,
    draft_terms,
)
from market.licensing.dates import add_months
from models.enums import ORG_KINDS

PROFILE_KEYS = sorted(profiles())
MODES = ("use_first", "license", "open_license", "transfer", "equity", "joint_dev")
FEE_FORMS = (None, "milestone_royalty", "deferred", "royalty", "lump_sum")
EVENTS = ("pilot_done", "first_unit", "first_revenue", "revenue_at_least")
SPECIAL_DAYS = (
    date(2028, 2, 29),
    date(2027, 1, 31),
    date(2026, 12, 31),
    date(2027, 8, 31),
    date(2029, 2, 28),
)
SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    today = draw(st.sampled_from(SPECIAL_DAYS) | st.dates(date(2024, 1, 1), date(2036, 12, 31)))
    patents = tuple(
        PatentFacts(
            f"ZL{i}",
            draw(st.sampled_from(("invention", "utility", "software"))),
            draw(st.none() | st.dates(date(2005, 1, 1), today)),
            add_months(today, draw(st.integers(1, 240))),
            draw(st.booleans() | st.just(True)),
        )
        for i in range(draw(st.integers(0, 3)))
    )
    outcome = OutcomeFacts(
        maturity=draw(st.sampled_from(("lab", "pilot", "industrial"))),
        patents=patents,
        asking_price_fen=draw(st.none() | st.integers(1, 10**11)),
        valuation_fen=draw(st.none() | st.integers(1, 10**10)),
        owner_kind=draw(st.sampled_from(sorted(ORG_KINDS))),
        ownership_shared_with_team=draw(st.booleans()),
        fiscal_funded=draw(st.booleans()),
        field_code=draw(st.sampled_from(("", "H01M", "A61K", "G06F"))),
    )
    licensee = LicenseeFacts(
        is_sme=draw(st.booleans()), budget_fen=draw(st.none() | st.integers(0, 10**10))
    )
    return {
        "outcome": outcome,
        "licensee": licensee,
        "mode": draw(st.sampled_from(MODES)),
        "key": draw(st.sampled_from(PROFILE_KEYS)),
        "today": today,
        "fee_form": draw(st.sampled_from(FEE_FORMS)),
    }


def draft(case: dict[str, Any]) -> TermSheet | None:
    """The drafted sheet, or None when drafting refused the inputs in the engine's own terms."""
    try:
        return draft_terms(
            case["outcome"],
            case["licensee"],
            case["mode"],
            profile(case["key"]),
            case["today"],
            fee_form=case["fee_form"],
        )
    except UnsupportedMode:
        assert case["mode"] == "joint_dev"  # 合作开发 has no term-sheet template
        return None
    except DraftError as e:
        for v in e.violations:
            assert v.field and v.citation and _chinese(v.message)
        assert _chinese(str(e))
        return None
    except LicensingError as e:
        assert _chinese(str(e))
        return None


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def longest_free_months(sheet: TermSheet) -> int:
    window = sheet.value("free_window_months")
    if sheet.value("free_window_until_first_revenue"):
        return max(window, sheet.value("free_window_max_months"))
    return window


def breaks(sheet: TermSheet, outcome: OutcomeFacts, licensee: LicenseeFacts) -> list[str]:
    """Every issue-18 rule the sheet breaks, by item number."""
    found = []
    mode, start = sheet.mode, sheet.value("start_on")
    base = sheet.value("royalty_base")
    royalty = base != "none" and (
        sheet.value("royalty_rate") > 0 or sheet.value("annual_minimum") > 0
    )
    shares = sheet.value("equity_value") or 0
    if sheet.value("fixed_fee_total") <= 0 and not royalty and shares <= 0:
        found.append("1: ¥0 consideration")
    if mode == "use_first":
        if sheet.value("entry_fee") != 0:
            found.append("4: entry fee under use_first")
        if any(m.event in ("pilot_done", "first_unit") for m in sheet.milestones):
            found.append("2: milestone due before first revenue, inside the free window")
        window_end = add_months(start, longest_free_months(sheet))
        if any(i.due_on.value < window_end for i in sheet.deferred_schedule):
            found.append("2: instalment inside the free window")
        opens = sheet.value("conversion_opens_on")
        if opens is not None and opens < add_months(start, sheet.value("free_window_months")):
            found.append("4: conversion window inside the free window")
    if any(i.due_on.value <= start for i in sheet.deferred_schedule):
        found.append("2: deferred instalment at signing")
    state_owner = outcome.owner_kind in ("university", "institute")
    negotiated = sheet.value("pricing_method") == "negotiated"
    if state_owner and negotiated and mode in ("use_first", "license", "transfer", "equity"):
        if sheet.value("notice_required") is not True:
            found.append("3: 公示 not required for a state university/institute")
        if sheet.value("notice_days") < 15:
            found.append("3: 公示 shorter than 15 days")
        if sheet.term("notice_required").citation != "《中华人民共和国促进科技成果转化法》第十八条":
            found.append("6: 公示 duty not cited to 促进法 第十八条")
    if sheet.value("notice_required") and (outcome.owner_kind == "enterprise" or not negotiated):
        found.append("3: 公示 required for an enterprise or for 挂牌/拍卖")
    if base == "none" and (sheet.value("royalty_rate") or sheet.value("annual_minimum")):
        found.append("4: royalty without a base")
    order = [EVENTS.index(m.event) for m in sheet.milestones]
    if order != sorted(order):
        found.append("4: milestones out of order")
    money = [sheet.value(n) for n in ("entry_fee", "annual_minimum", "conversion_price")]
    money += [m.amount.value for m in sheet.milestones]
    money += [i.amount.value for i in sheet.deferred_schedule]
    if any(v is not None and v < 0 for v in money):
        found.append("4: negative money")
    in_scope = (
        outcome.owner_kind in ("university", "institute", "hospital")
        and licensee.is_sme
        and any(
            p.granted_on is not None and p.granted_on <= start for p in outcome.live_patents(start)
        )
    )
    warned = any("措施7" in w and "适用范围" in w for w in sheet.warnings)
    if sheet.profile_key == "zhuhai-2025" and mode == "use_first" and not in_scope and not warned:
        found.append("5: 措施7 scope not warned")
    source = sheet.term("team_income_share").source
    if source.endswith(("/horizontal_income_share", "/empowerment_team_share")):
        found.append("6: income split from 广东 60% or 深圳 70%")
    citation = sheet.term("notice_days").citation
    if "第十八条" in citation or "措施10" in citation:
        found.append("6: 15 days cited to 第十八条 or 措施10")
    for name, term in sheet.terms.items():
        if term.source.startswith("default:") and not (
            term.citation.startswith("实践默认值") or "《" in term.citation or "〔" in term.citation
        ):
            found.append(f"6: practice default {name} not labelled 实践默认值")
    return found


@st.composite
def edits(draw: st.DrawFn, sheet: TermSheet) -> dict[str, Any]:
    start = sheet.value("start_on")
    pool = [
        {"entry_fee": draw(st.sampled_from((0, 1, 100_000, -5)))},
        {"royalty_rate": draw(st.sampled_from((0, 300, 2001)))},
        {"royalty_base": draw(st.sampled_from(("none", "net_sales", "profit")))},
        {"annual_minimum": draw(st.sampled_from((-100, 0, 1000)))},
        {"notice_required": draw(st.booleans())},
        {"notice_days": draw(st.integers(0, 40))},
        {"pricing_method": draw(st.sampled_from(("negotiated", "listed", "auction")))},
        {"free_window_months": draw(st.integers(0, 72))},
        {"free_window_until_first_revenue": draw(st.booleans())},
        {"free_window_max_months": draw(st.integers(0, 72))},
        {
            "fee_form": draw(
                st.sampled_from(("lump_sum", "royalty", "deferred", "milestone_royalty"))
            )
        },
        {"risk_instrument": draw(st.sampled_from(("none", "guarantee", "insurance")))},
        {"conversion_opens_on": add_months(start, draw(st.integers(0, 40))).isoformat()},
        {
            "milestones": [
                {
                    "event": draw(st.sampled_from(EVENTS[:3])),
                    "amount": draw(st.integers(-10, 10**7)),
                }
                for _ in range(draw(st.integers(0, 3)))
            ]
        },
        {
            "deferred_schedule": [
                {
                    "due_on": add_months(start, draw(st.integers(0, 72))).isoformat(),
                    "amount": draw(st.integers(1, 10**7)),
                }
                for _ in range(draw(st.integers(0, 3)))
            ]
        },
    ]
    change: dict[str, Any] = {}
    for item in draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3)):
        change.update(item)
    return change


@settings(max_examples=2500, **SETTINGS)
@given(cases())
def test_every_draft_keeps_every_issue_18_rule(case: dict[str, Any]) -> None:
    sheet = draft(case)
    if sheet is not None:
        assert breaks(sheet, case["outcome"], case["licensee"]) == []


@settings(max_examples=2500, **SETTINGS)
@given(cases(), st.data())
def test_every_accepted_edit_keeps_every_issue_18_rule(case: dict[str, Any], data: Any) -> None:
    sheet = draft(case)
    if sheet is None:
        return
    before = sheet.to_dict()
    change = data.draw(edits(sheet), label="edit")
    try:
        edited = apply_edit(sheet, change, profile(case["key"]), case["outcome"], "fuzzer")
    except TermsViolation as e:
        assert e.violations
        for v in e.violations:
            assert v.field and v.rule_id and v.citation and _chinese(v.message)
        assert sheet.to_dict() == before  # nothing half-saved
        return
    assert breaks(edited, case["outcome"], case["licensee"]) == []
    if edited is not sheet:
        assert edited.version == sheet.version + 1
        old, new = sheet.value("notice_days"), edited.value("notice_days")
        if sheet.value("notice_required") and edited.value("notice_required"):
            assert new >= old or case["outcome"].owner_kind not in ("university", "institute")


@settings(max_examples=200, **SETTINGS)
@given(st.integers(-(10**10), -1))
def test_negative_budgets_are_refused(budget: int) -> None:
    try:
        LicenseeFacts(budget_fen=budget)
    except LicensingError as e:
        assert "预算" in str(e)
    else:
        raise AssertionError("a negative budget was accepted")
