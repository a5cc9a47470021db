"""Edits: refused with the rule named when they break the profile, else versioned."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from licensing_support import YUAN, draft, outcome, profile

from market.licensing import TermSheet, TermsViolation, apply_edit, validate

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def edit(sheet: TermSheet, key: str, changes: dict[str, Any], facts=None) -> TermSheet:
    return apply_edit(sheet, changes, profile(key), facts or outcome(), "broker-li", now=NOW)


def refused(sheet: TermSheet, key: str, changes: dict[str, Any], facts=None) -> set[str]:
    with pytest.raises(TermsViolation) as caught:
        edit(sheet, key, changes, facts)
    for v in caught.value.violations:
        assert v.citation and v.message and v.field
    return {v.rule_id for v in caught.value.violations}


def test_valid_edit_makes_a_new_version_with_history() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    edited = edit(sheet, "zhuhai-2025", {"royalty_rate": 450, "exclusivity": "sole"})
    assert edited.version == 2
    assert edited.value("royalty_rate") == 450
    assert edited.term("royalty_rate").source == "edit:broker-li"
    assert [(c.field, c.old, c.new, c.version) for c in edited.history] == [
        ("royalty_rate", 300, 450, 2),
        ("exclusivity", "ordinary", "sole", 2),
    ]
    assert edited.history[0].at == NOW
    assert sheet.version == 1 and sheet.value("royalty_rate") == 300  # original untouched
    assert validate(edited, profile("zhuhai-2025"), outcome()) == []


def test_successive_edits_accumulate_history() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    second = edit(sheet, "zhuhai-2025", {"cure_days": 45})
    third = edit(second, "zhuhai-2025", {"end_on": "2034-01-01"})
    assert third.version == 3
    assert [c.field for c in third.history] == ["cure_days", "end_on"]
    assert third.history[1].new == "2034-01-01"
    assert TermSheet.from_dict(third.to_dict()) == third


def test_no_op_edit_returns_the_same_version() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    assert edit(sheet, "zhuhai-2025", {"royalty_rate": 300}) is sheet


@pytest.mark.parametrize(
    ("key", "mode", "changes", "rule_id"),
    [
        ("zhuhai-2025", "use_first", {"entry_fee": 1}, "use_first_zero_entry_fee"),
        ("national-open-licence", "use_first", {"entry_fee": 1}, "core/use_first_entry_fee"),
        ("zhuhai-2025", "use_first", {"notice_required": False}, "core/agreement_pricing_notice"),
        ("guangdong-2016", "license", {"notice_required": False}, "core/agreement_pricing_notice"),
        ("zhuhai-2025", "use_first", {"notice_days": 14}, "core/notice_days_minimum"),
        ("zhuhai-2025", "use_first", {"risk_instrument": "insurance"}, "core/risk_recorded"),
        ("zhuhai-2025", "use_first", {"free_window_months": 11}, "free_window_months"),
        ("zhuhai-2025", "use_first", {"free_window_max_months": 61}, "free_window_max_months"),
        ("zhuhai-2025", "use_first", {"royalty_rate": 501}, "royalty_rate"),
        ("national-open-licence", "open_license", {"royalty_rate": 2001}, "royalty_max_net_sales"),
        (
            "national-open-licence",
            "open_license",
            {"royalty_base": "profit", "royalty_rate": 4001},
            "royalty_max_profit",
        ),
        (
            "national-open-licence",
            "open_license",
            {"exclusivity": "sole"},
            "open_licence_ordinary_only",
        ),
        (
            "national-open-licence",
            "license",
            {"entry_fee": 20_000_000 * YUAN + 1},
            "fixed_fee_max",
        ),
        ("national-open-licence", "use_first", {"team_income_share": 4999}, "team_share_min_law"),
        ("guangdong-2016", "use_first", {"team_income_share": 4999}, "team_share_min_law"),
        ("guangdong-2016", "use_first", {"broker_reward_share": 3001}, "broker_reward_max"),
        ("zhuhai-2025", "use_first", {"termination_notice_days": 29}, "termination_notice_days"),
        ("zhuhai-2025", "use_first", {"conversion_price": 499_999 * YUAN}, "conversion_price"),
        ("zhuhai-2025", "use_first", {"annual_minimum": 100_001 * YUAN}, "annual_minimum"),
        (
            "zhuhai-2025",
            "use_first",
            {"milestones": [{"event": "first_revenue", "amount": 500_001 * YUAN}]},
            "milestone_total",
        ),
    ],
)
def test_edit_outside_a_rule_is_refused_naming_it(
    key: str, mode: str, changes: dict[str, Any], rule_id: str
) -> None:
    sheet = draft(key, mode)
    assert rule_id in refused(sheet, key, changes)


def test_shenzhen_ownership_share_is_not_an_income_split() -> None:
    # 深圳 措施（十二）'s 70% is the completers' ownership share under 按份共有; it does not bound
    # the income split of a licence (the old rule refused 69.99% here, wrongly).
    shared = outcome(ownership_shared_with_team=True)
    sheet = draft("shenzhen-2021", "use_first", shared)
    assert edit(sheet, "shenzhen-2021", {"team_income_share": 6000}, shared).version == 2


def test_term_beyond_patent_life_is_refused() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    assert "core/term_within_patent_life" in refused(sheet, "zhuhai-2025", {"end_on": "2040-03-02"})


def test_structural_edits_are_refused() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    assert refused(sheet, "zhuhai-2025", {"base_price": 1}) == {"core/field_types"}
    assert refused(sheet, "zhuhai-2025", {"colour": "red"}) == {"core/field_types"}
    assert refused(sheet, "zhuhai-2025", {"royalty_rate": "a lot"}) == {"core/field_types"}
    assert refused(sheet, "zhuhai-2025", {"royalty_rate": 3.5}) == {"core/field_types"}
    assert refused(sheet, "zhuhai-2025", {"end_on": "next year"}) == {"core/field_types"}
    assert refused(sheet, "zhuhai-2025", {"exclusivity": "shared"}) == {"core/field_types"}


def test_fee_form_switch_needs_a_consistent_schedule() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    assert "core/fee_form_consistency" in refused(sheet, "zhuhai-2025", {"fee_form": "deferred"})
    switched = edit(
        sheet,
        "zhuhai-2025",
        {
            "fee_form": "deferred",
            "royalty_base": "none",
            "royalty_rate": 0,
            "annual_minimum": 0,
            "annual_cap": None,
            "milestones": [],
            "free_window_until_first_revenue": False,
            "deferred_schedule": [{"due_on": "2027-03-01", "amount": 200_000 * YUAN}],
        },
    )
    assert switched.value("deferred_total") == 200_000 * YUAN
    assert switched.deferred_schedule[0].due_on.value == date(2027, 3, 1)


def test_annual_cap_below_minimum_is_refused() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    assert "core/minimum_within_cap" in refused(sheet, "zhuhai-2025", {"annual_cap": 1})


def test_conversion_window_outside_term_is_refused() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    rules = refused(sheet, "zhuhai-2025", {"conversion_closes_on": "2037-01-01"})
    assert "core/conversion_window" in rules


def test_editor_is_required() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    with pytest.raises(TermsViolation):
        apply_edit(sheet, {"cure_days": 40}, profile("zhuhai-2025"), outcome(), "")


def test_lapsed_patent_makes_any_edit_fail() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    lapsed = outcome(patents=())
    assert edit(sheet, "zhuhai-2025", {"cure_days": 40}, lapsed).version == 2
    from licensing_support import patent

    dead = outcome(patents=(patent(in_force=False),))
    assert "core/patent_in_force" in refused(sheet, "zhuhai-2025", {"cure_days": 40}, dead)


def test_resubmitting_the_same_milestones_is_no_change() -> None:
    sheet = draft("zhuhai-2025", "use_first", outcome(maturity="industrial"))
    same = [
        {
            "event": m.event,
            "amount": m.amount.value,
            "threshold": m.threshold.value if m.threshold else None,
        }
        for m in sheet.milestones
    ]
    facts = outcome(maturity="industrial")
    assert edit(sheet, "zhuhai-2025", {"milestones": same}, facts) is sheet
    fewer = edit(sheet, "zhuhai-2025", {"milestones": same[:1]}, facts)
    assert fewer.version == 2 and len(fewer.milestones) == 1
    assert fewer.milestones[0].amount.source == "edit:broker-li"


def violations_of(sheet: TermSheet, key: str, changes: dict[str, Any]) -> set[tuple[str, str]]:
    with pytest.raises(TermsViolation) as caught:
        edit(sheet, key, changes)
    return {(v.field, v.rule_id) for v in caught.value.violations}


def test_an_unreadable_value_does_not_hide_the_rules_the_other_values_break() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    found = violations_of(
        sheet, "zhuhai-2025", {"royalty_rate": "a lot", "entry_fee": 500_000, "notice_days": 3}
    )
    assert ("royalty_rate", "core/field_types") in found
    assert ("entry_fee", "use_first_zero_entry_fee") in found
    assert {f for f, _ in found} >= {"royalty_rate", "entry_fee", "notice_days"}


def test_an_unknown_option_is_named_with_the_other_broken_rules() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    found = violations_of(sheet, "zhuhai-2025", {"exclusivity": "shared", "entry_fee": 500_000})
    assert found >= {("exclusivity", "core/field_types"), ("entry_fee", "use_first_zero_entry_fee")}


def test_every_fee_form_inconsistency_is_named_on_its_own_field() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    # 延期支付 with a royalty still set and no instalments: two problems, both reported.
    found = violations_of(sheet, "zhuhai-2025", {"fee_form": "deferred"})
    consistency = {f for f, rule in found if rule == "core/fee_form_consistency"}
    assert consistency >= {"royalty_base", "deferred_schedule", "milestones"}
