"""Drafting: each profile rule shows up in the drafted numbers, with its source recorded."""

from __future__ import annotations

import json
from datetime import date

import pytest
from licensing_support import TODAY, YUAN, draft, licensee, outcome, patent, profile

from market.licensing import (
    DraftError,
    MissingFacts,
    TermSheet,
    UnsupportedMode,
    draft_terms,
    validate,
)
from market.licensing.dates import add_months, add_years


def test_zhuhai_use_first_is_zero_entry_milestones_and_royalty() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    assert sheet.value("fee_form") == "milestone_royalty"
    assert sheet.value("entry_fee") == 0
    assert [m.event for m in sheet.milestones] == ["first_unit", "first_revenue"]
    assert sheet.value("royalty_base") == "net_sales"
    assert validate(sheet, profile("zhuhai-2025"), outcome()) == []


def test_zhuhai_use_first_requires_guarantee_or_insurance() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    term = sheet.term("risk_instrument")
    assert term.value == "guarantee"
    assert term.source == "rule:zhuhai-2025/use_first_risk_sharing"
    assert "措施7" in term.citation
    assert sheet.value("risk_coverage") == 100_000 * YUAN  # 10% of the ¥1M asking price


def test_zhuhai_agreement_pricing_must_be_published_for_15_days() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    assert sheet.term("notice_required").value is True
    assert sheet.term("notice_required").source == "rule:zhuhai-2025/agreement_pricing_public"
    assert sheet.value("notice_days") == 15


def test_zhuhai_deferred_payment_form() -> None:
    sheet = draft("zhuhai-2025", "use_first", fee_form="deferred")
    assert sheet.value("royalty_base") == "none"
    assert sheet.value("royalty_rate") == 0
    dues = [i.due_on.value for i in sheet.deferred_schedule]
    assert dues == [add_months(TODAY, 12), add_months(TODAY, 24), add_months(TODAY, 36)]
    assert sum(i.amount.value for i in sheet.deferred_schedule) == 300_000 * YUAN
    assert sheet.milestones == ()


def test_zhuhai_refuses_a_requested_fee_form_outside_measure_7() -> None:
    sheet = draft("zhuhai-2025", "use_first", fee_form="royalty")
    assert sheet.term("fee_form").value == "milestone_royalty"
    assert sheet.term("fee_form").source == "rule:zhuhai-2025/use_first_fee_forms"


@pytest.mark.parametrize(("maturity", "rate"), [("lab", 200), ("pilot", 300), ("industrial", 500)])
def test_royalty_rate_by_maturity(maturity: str, rate: int) -> None:
    sheet = draft("national-open-licence", "use_first", outcome(maturity=maturity))
    assert sheet.value("royalty_rate") == rate
    assert sheet.term("royalty_rate").source == "default:builtin/royalty_rate"


def test_milestone_plan_by_maturity() -> None:
    lab = draft("national-open-licence", "use_first", outcome(maturity="lab"))
    assert [m.event for m in lab.milestones] == ["pilot_done", "first_unit", "first_revenue"]
    industrial = draft("national-open-licence", "use_first", outcome(maturity="industrial"))
    revenue = industrial.milestones[-1]
    assert revenue.event == "revenue_at_least"
    assert revenue.threshold is not None and revenue.threshold.value == 10_000_000 * YUAN


def test_free_window_defaults_to_12_months_or_first_revenue() -> None:
    sheet = draft("national-open-licence", "use_first")
    assert sheet.value("free_window_months") == 12
    assert sheet.value("free_window_until_first_revenue") is True
    assert sheet.value("free_window_max_months") == 60
    assert "西咸" in sheet.term("free_window_months").citation


def test_fixed_fee_cap_scales_milestones_to_twenty_million() -> None:
    big = outcome(asking_price_fen=200_000_000 * YUAN)  # ¥200M: 25% milestones = ¥50M
    sheet = draft("national-open-licence", "use_first", big)
    assert sheet.value("fixed_fee_total") <= 20_000_000 * YUAN
    assert sheet.value("fixed_fee_total") > 19_999_000 * YUAN
    assert {m.amount.source for m in sheet.milestones} == {
        "rule:national-open-licence/fixed_fee_max"
    }


def test_term_never_beyond_patent_life() -> None:
    short = outcome(patents=(patent(expires_on=date(2031, 6, 30)),))
    sheet = draft("zhuhai-2025", "use_first", short)
    assert sheet.value("end_on") == date(2031, 6, 30)
    assert sheet.term("end_on").source == "core:term_within_patent_life"
    assert sheet.term("free_window_max_months").value <= 63


def test_term_uses_the_latest_live_patent() -> None:
    facts = outcome(
        patents=(
            patent("A", expires_on=date(2030, 1, 1)),
            patent("B", expires_on=date(2045, 1, 1), in_force=False),
            patent("C", expires_on=date(2033, 1, 1)),
        )
    )
    assert draft("zhuhai-2025", "use_first", facts).value("end_on") == date(2033, 1, 1)


def test_default_term_is_ten_years() -> None:
    assert draft("zhuhai-2025", "use_first").value("end_on") == add_years(TODAY, 10)


def test_no_live_patent_refuses_to_draft() -> None:
    dead = outcome(patents=(patent(in_force=False),))
    with pytest.raises(DraftError, match="无有效专利"):
        draft("zhuhai-2025", "use_first", dead)


def test_patent_life_shorter_than_free_window_refuses() -> None:
    nearly = outcome(patents=(patent(expires_on=add_months(TODAY, 8)),))
    with pytest.raises(DraftError, match="短于免费使用期"):
        draft("zhuhai-2025", "use_first", nearly)


def test_know_how_without_patents_uses_default_term() -> None:
    sheet = draft("zhuhai-2025", "use_first", outcome(patents=()))
    assert sheet.value("end_on") == add_years(TODAY, 10)


def test_unsupported_mode_and_missing_price() -> None:
    with pytest.raises(UnsupportedMode):
        draft("zhuhai-2025", "equity")
    with pytest.raises(MissingFacts):
        draft("zhuhai-2025", "use_first", outcome(asking_price_fen=None))


def test_valuation_used_when_no_asking_price() -> None:
    sheet = draft("zhuhai-2025", "use_first", outcome(asking_price_fen=None, valuation_fen=500_000))
    assert sheet.term("base_price").value == 500_000
    assert sheet.term("base_price").source == "fact:valuation"


def test_team_share_follows_law_province_and_empowerment() -> None:
    national = draft("national-open-licence", "use_first")
    assert national.value("team_income_share") == 5000
    guangdong = draft("guangdong-2016", "use_first")
    assert (
        guangdong.term("team_income_share").source == "rule:guangdong-2016/horizontal_income_share"
    )
    assert guangdong.value("team_income_share") == 6000
    shared = draft("shenzhen-2021", "use_first", outcome(ownership_shared_with_team=True))
    assert shared.value("team_income_share") == 7000
    assert shared.term("team_income_share").source == "rule:shenzhen-2021/empowerment_team_share"
    assert draft("shenzhen-2021", "use_first").value("team_income_share") == 6000


def test_enterprise_owner_has_no_statutory_team_share() -> None:
    sheet = draft("national-open-licence", "license", outcome(owner_kind="enterprise"))
    assert sheet.term("team_income_share").source == "default:builtin/team_income_share"


def test_open_licence_is_ordinary_with_no_conversion_and_notes_fee_reduction() -> None:
    sheet = draft("national-open-licence", "open_license")
    assert sheet.value("exclusivity") == "ordinary"
    assert sheet.value("conversion_price") is None
    assert any("15%" in note for note in sheet.notes)


def test_use_first_conversion_option_follows_the_free_window() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    assert sheet.value("conversion_price") == 1_000_000 * YUAN
    assert sheet.value("conversion_opens_on") == add_months(TODAY, 12)
    assert sheet.value("conversion_closes_on") == add_months(TODAY, 36)
    assert sheet.value("conversion_credit_paid_fees") is True


def test_transfer_is_a_lump_sum_without_royalty() -> None:
    sheet = draft("zhuhai-2025", "transfer")
    assert sheet.value("fee_form") == "lump_sum"
    assert sheet.value("entry_fee") == 1_000_000 * YUAN
    assert sheet.value("royalty_base") == "none"
    assert sheet.value("conversion_price") is None


def test_budget_warning() -> None:
    sheet = draft_terms(
        outcome(),
        licensee(budget_fen=10 * YUAN),
        "transfer",
        profile("zhuhai-2025"),
        TODAY,
    )
    assert any("超出企业预算" in w for w in sheet.warnings)


def test_notes_carry_info_rules_with_citations() -> None:
    notes = draft("shenzhen-2021", "use_first").notes
    assert any("尽职免责" in n and "深府办〔2021〕1号" in n for n in notes)


def test_every_term_records_its_source() -> None:
    sheet = draft("zhuhai-2025", "use_first")
    prefixes = {t.source.split(":")[0] for t in sheet.terms.values()}
    assert prefixes <= {"rule", "default", "fact", "core", "edit"}
    for term in sheet.terms.values():
        kind, _, rest = term.source.partition(":")
        if kind in ("rule", "default"):
            profile_key, rule_id = rest.split("/")
            assert profile("zhuhai-2025").rule(rule_id).profile_key == profile_key


def test_json_round_trip() -> None:
    sheet = draft("zhuhai-2025", "use_first", fee_form="deferred")
    text = json.dumps(sheet.to_dict(), ensure_ascii=False)
    again = TermSheet.from_dict(json.loads(text))
    assert again == sheet
    assert json.loads(text)["terms"]["start_on"]["value"] == TODAY.isoformat()


def test_conflicting_profile_rules_refuse_to_draft(tmp_path) -> None:
    body = """key = "conflict"
name = "冲突"
[rules.share_low]
label = "上限"
check = "bounds"
field = "team_income_share"
unit = "bps"
bounds = { max = 4000 }
citation = { document = "甲", article = "1" }
[rules.share_high]
label = "下限"
check = "bounds"
field = "team_income_share"
unit = "bps"
bounds = { min = 6000 }
citation = { document = "乙", article = "2" }
"""
    (tmp_path / "conflict.toml").write_text(body, encoding="utf-8")
    from market.licensing import load_profile

    with pytest.raises(DraftError) as caught:
        draft_terms(
            outcome(), licensee(), "use_first", load_profile(tmp_path / "conflict.toml"), TODAY
        )
    assert {v.rule_id for v in caught.value.violations} & {"share_low", "share_high"}


def test_refused_fee_form_request_is_warned() -> None:
    sheet = draft("zhuhai-2025", "use_first", fee_form="royalty")
    assert any("措施7" in w for w in sheet.warnings)


def test_profile_can_set_royalty_by_field(tmp_path) -> None:
    from market.licensing import load_profile

    (tmp_path / "medtech.toml").write_text(
        'key = "medtech"\nname = "医药"\n'
        "[defaults.royalty_rate]\nby_field = { A61K = 450, A61 = 400 }\n",
        encoding="utf-8",
    )
    medtech = load_profile(tmp_path / "medtech.toml")
    for code, rate in (("A61K31", 450), ("A61B", 400), ("H01M", 200)):
        facts = outcome(maturity="lab", field_code=code)
        sheet = draft_terms(facts, licensee(), "use_first", medtech, TODAY)
        assert sheet.value("royalty_rate") == rate
        assert sheet.term("royalty_rate").source == "default:medtech/royalty_rate"
