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
    # 首台套 (10%) would fall due before first revenue, inside the free window: it is paid with
    # the first-revenue milestone instead (issue 18; the old sheet listed it separately).
    assert [m.event for m in sheet.milestones] == ["first_revenue"]
    assert sheet.milestones[0].amount.value == 250_000 * YUAN
    assert sheet.value("royalty_base") == "net_sales"
    assert any("免费使用期内不发生任何付款义务" in n for n in sheet.notes)
    assert validate(sheet, profile("zhuhai-2025"), outcome()) == []


def test_risk_sharing_is_optional_under_measure_7() -> None:
    # 措施7 names 担保/保险 as ways to share risk; it does not make them compulsory.
    sheet = draft("zhuhai-2025", "use_first")
    assert sheet.value("risk_instrument") == "none"
    assert sheet.value("risk_coverage") == 0
    assert any("担保、保险" in n and "措施7" in n for n in sheet.notes)


def test_university_agreement_pricing_is_published_for_15_days_everywhere() -> None:
    for key in ("zhuhai-2025", "national-open-licence", "guangdong-2016", "shenzhen-2021"):
        for mode in ("use_first", "license", "transfer"):
            sheet = draft(key, mode)
            assert sheet.term("notice_required").value is True
            assert (
                sheet.term("notice_required").citation
                == "《中华人民共和国促进科技成果转化法》第十八条"
            )
            assert sheet.value("notice_days") == 15
            assert "国发〔2016〕16号" in sheet.term("notice_days").citation


def test_enterprise_outcomes_and_open_licences_are_not_published() -> None:
    enterprise = draft("zhuhai-2025", "license", outcome(owner_kind="enterprise"))
    assert enterprise.value("notice_required") is False
    assert draft("zhuhai-2025", "open_license").value("notice_required") is False


def test_zhuhai_deferred_payment_form() -> None:
    sheet = draft("zhuhai-2025", "use_first", fee_form="deferred")
    assert sheet.value("royalty_base") == "none"
    assert sheet.value("royalty_rate") == 0
    dues = [i.due_on.value for i in sheet.deferred_schedule]
    assert dues == [add_months(TODAY, 12), add_months(TODAY, 24), add_months(TODAY, 36)]
    assert sum(i.amount.value for i in sheet.deferred_schedule) == 300_000 * YUAN
    assert sheet.milestones == ()


def test_measure_7_fee_forms_are_an_open_list() -> None:
    sheet = draft("zhuhai-2025", "use_first", fee_form="royalty")
    assert sheet.value("fee_form") == "royalty"
    assert sheet.value("entry_fee") == 0 and sheet.value("royalty_rate") == 300


def test_no_licence_without_consideration() -> None:
    for key in ("zhuhai-2025", "national-open-licence"):
        with pytest.raises(DraftError) as caught:
            draft(key, "use_first", fee_form="lump_sum")
        assert [v.rule_id for v in caught.value.violations] == ["core/consideration"]
        assert "对价为零" in caught.value.violations[0].message
    lump = draft("national-open-licence", "license", fee_form="lump_sum")
    assert lump.value("entry_fee") == 1_000_000 * YUAN


@pytest.mark.parametrize(("maturity", "rate"), [("lab", 200), ("pilot", 300), ("industrial", 500)])
def test_royalty_rate_by_maturity(maturity: str, rate: int) -> None:
    sheet = draft("national-open-licence", "use_first", outcome(maturity=maturity))
    assert sheet.value("royalty_rate") == rate
    assert sheet.term("royalty_rate").source == "default:builtin/royalty_rate"


def test_milestone_plan_by_maturity() -> None:
    lab = draft(
        "national-open-licence", "license", outcome(maturity="lab"), fee_form="milestone_royalty"
    )
    assert [m.event for m in lab.milestones] == ["pilot_done", "first_unit", "first_revenue"]
    lab_first = draft("national-open-licence", "use_first", outcome(maturity="lab"))
    assert [m.event for m in lab_first.milestones] == ["first_revenue"]
    assert lab_first.milestones[0].amount.value == 300_000 * YUAN
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
        draft("zhuhai-2025", "joint_dev")
    with pytest.raises(MissingFacts):
        draft("zhuhai-2025", "use_first", outcome(asking_price_fen=None))


def test_valuation_used_when_no_asking_price() -> None:
    sheet = draft("zhuhai-2025", "use_first", outcome(asking_price_fen=None, valuation_fen=500_000))
    assert sheet.term("base_price").value == 500_000
    assert sheet.term("base_price").source == "fact:valuation"


def test_team_share_follows_the_law_not_guangdong_60_or_shenzhen_70() -> None:
    # 广东 (二十七)'s 60% is for 横向 income and 深圳 措施（十二）'s 70% an ownership share: neither
    # bounds a licence's income split (issue 18; the old sheets applied both).
    for key in ("national-open-licence", "guangdong-2016", "zhuhai-2025", "shenzhen-2021"):
        sheet = draft(key, "use_first", outcome(ownership_shared_with_team=True))
        assert sheet.value("team_income_share") == 5000
        assert sheet.term("team_income_share").citation.endswith("第四十五条")


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


def test_outside_measure_7_scope_is_warned() -> None:
    inside = draft("zhuhai-2025", "use_first")
    assert not any("适用范围" in w for w in inside.warnings)
    for facts, who in (
        (outcome(owner_kind="enterprise"), None),
        (outcome(patents=()), None),
        (outcome(), licensee(is_sme=False)),
    ):
        sheet = draft_terms(facts, who or licensee(), "use_first", profile("zhuhai-2025"), TODAY)
        assert any("适用范围" in w and "措施7" in w for w in sheet.warnings)
    assert not any(
        "适用范围" in w
        for w in draft(
            "national-open-licence", "use_first", outcome(owner_kind="enterprise")
        ).warnings
    )


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


def test_equity_contribution_is_drafted() -> None:
    # 作价入股 (促进法 第十六条第（五）项): the outcome is contributed at its price for shares.
    sheet = draft("zhuhai-2025", "equity")
    assert sheet.value("fee_form") == "equity"
    assert sheet.value("equity_value") == 1_000_000 * YUAN
    assert "第十六条" in sheet.term("equity_value").citation
    assert sheet.value("equity_share_bps") is None  # negotiated against the company's capital
    assert sheet.value("royalty_base") == "none" and sheet.value("entry_fee") == 0
    assert sheet.value("contract_amount") == 1_000_000 * YUAN
    assert sheet.value("notice_required") is True  # 第十八条 covers 作价投资 too
    assert sheet.value("conversion_price") is None and sheet.milestones == ()
    licence = draft("zhuhai-2025", "license", fee_form="equity")
    assert licence.value("fee_form") == "royalty" and licence.value("equity_value") is None
    assert any("不适用于该合作方式" in w for w in licence.warnings)


def test_empowerment_is_shown_on_the_sheet_and_checked_against_shenzhen() -> None:
    shared = outcome(ownership_shared_with_team=True, team_ownership_bps=7000)
    sheet = draft("shenzhen-2021", "use_first", shared)
    assert "赋权：成果完成人（团队）按份共有本成果，所有权份额70%" in sheet.notes
    assert not any("赋权份额" in w for w in sheet.warnings)
    low = draft("shenzhen-2021", "license", outcome(team_ownership_bps=6000))
    assert any("赋权份额60%低于" in w and "措施（十二）" in w for w in low.warnings)
    use_right = draft("shenzhen-2021", "license", outcome(use_right_years=5))
    assert "赋权：成果完成人（团队）享有本成果长期使用权5年" in use_right.notes
    assert any("长期使用权5年" in w and "10年" in w for w in use_right.warnings)
    # Elsewhere the 赋权 is shown but no 深圳 number applies.
    national = draft("national-open-licence", "license", outcome(use_right_years=5))
    assert "赋权：成果完成人（团队）享有本成果长期使用权5年" in national.notes
    assert not any("长期使用权" in w for w in national.warnings)
    with pytest.raises(MissingFacts):
        outcome(team_ownership_bps=10001)
