"""Policy profiles: the shipped numbers with their citations, inheritance and schema errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from licensing_support import POLICY_DIR, profile

from market.licensing import ProfileError, load_profile, load_profiles

YUAN = 100


def test_ships_the_four_profiles(all_profiles: dict) -> None:
    assert set(all_profiles) >= {
        "zhuhai-2025",
        "national-open-licence",
        "shenzhen-2021",
        "guangdong-2016",
    }


def test_national_fixed_fee_cap_is_twenty_million_yuan() -> None:
    rule = profile("national-open-licence").rule("fixed_fee_max")
    assert rule.bounds == (0, 20_000_000 * YUAN)
    assert rule.unit == "fen"
    assert "2000万元" in rule.citation.excerpt


def test_national_royalty_caps_cite_net_sales_and_profit() -> None:
    national = profile("national-open-licence")
    assert national.rule("royalty_max_net_sales").bounds == (0, 2000)
    assert national.rule("royalty_max_net_sales").when == ("royalty_base:net_sales",)
    assert national.rule("royalty_max_profit").bounds == (0, 4000)
    assert national.rule("royalty_max_profit").when == ("royalty_base:profit",)


def test_national_open_licence_articles() -> None:
    national = profile("national-open-licence")
    assert national.rule("open_licence_ordinary_only").value == ["ordinary"]
    assert national.rule("open_licence_ordinary_only").citation.article == "第五十一条"
    assert national.rule("open_licence_annual_fee_reduction").value == 1500
    assert national.rule("open_licence_declaration").citation.article == "第五十条"
    assert national.rule("open_licence_disputes").citation.article == "第五十二条"


def test_five_years_to_the_use_first_pool_is_labelled_a_platform_default() -> None:
    # Issue 18: no national text sets 5 years (措施8 says "超过一定时间"); the old citation
    # claimed 国办发〔2023〕37号 did.
    for key in ("national-open-licence", "zhuhai-2025"):
        rule = profile(key).rule("use_first_pool_after_years")
        assert (rule.value, rule.unit) == (5, "years")
        assert "平台默认值" in rule.label
        assert "5年" in rule.note and "默认值" in rule.note
    assert profile("national-open-licence").rule("use_first_pool_after_years").citation.document


def test_zhuhai_measure_7_use_first_terms() -> None:
    zhuhai = profile("zhuhai-2025")
    assert zhuhai.rule("use_first_zero_entry_fee").bounds == (0, 0)
    # Fee forms are an open list ("等") and risk sharing is optional: notes, not restrictions.
    assert zhuhai.rule("use_first_fee_forms").check == "info"
    assert "等" in zhuhai.rule("use_first_fee_forms").citation.excerpt
    assert zhuhai.rule("use_first_risk_sharing").check == "info"
    assert "10%" not in zhuhai.rule("use_first_risk_sharing").note
    scope = zhuhai.rule("use_first_scope")
    assert scope.check == "scope"
    assert scope.owner_kinds == ("university", "institute", "hospital")
    assert scope.when == ("sme_licensee", "has_granted_patent")
    for rule_id in (
        "use_first_zero_entry_fee",
        "use_first_fee_forms",
        "use_first_risk_sharing",
        "use_first_scope",
    ):
        assert zhuhai.rule(rule_id).citation.article == "措施7"
        assert zhuhai.rule(rule_id).citation.document == "珠府办函〔2025〕13号"


def test_zhuhai_measures_8_and_10() -> None:
    zhuhai = profile("zhuhai-2025")
    assert zhuhai.rule("use_first_pool_after_years").citation.article == "措施8"
    # The 15-day period and the duty to publish are national (core checks), not 措施10's.
    assert zhuhai.rule("agreement_pricing_notice").check == "info"
    assert zhuhai.get("agreement_pricing_notice_days") is None
    assert zhuhai.rule("separate_management").citation.article == "措施10"
    assert zhuhai.rule("notice_days").citation.document.startswith("《实施〈中华人民共和国促进")


def test_shenzhen_empowerment_share_and_use_right() -> None:
    shenzhen = profile("shenzhen-2021")
    share = shenzhen.rule("empowerment_team_share")
    assert share.check == "info" and share.field is None  # an ownership share, not income
    assert share.value == 7000 and "按份共有" in share.citation.excerpt
    assert share.citation.article == "措施（十二）"
    use_right = shenzhen.rule("long_term_use_right")
    assert use_right.value == 10 and "为10年" in use_right.citation.excerpt
    exemption = shenzhen.rule("due_diligence_exemption")
    assert exemption.citation.article == "措施（十五）"
    assert "公示" in exemption.note and "非法利益" in exemption.note


def test_guangdong_income_share_and_broker_reward() -> None:
    guangdong = profile("guangdong-2016")
    horizontal = guangdong.rule("horizontal_income_share")
    assert horizontal.check == "info" and horizontal.field is None
    assert horizontal.citation.article == "（二十七）"
    assert guangdong.rule("broker_reward_max").bounds == (0, 3000)


def test_practice_defaults_window_and_royalty_band() -> None:
    national = profile("national-open-licence")
    window = national.rule("free_window_months")
    assert (window.value, window.bounds, window.kind) == (12, (12, 60), "practice")
    royalty = national.rule("royalty_rate")
    assert royalty.bounds == (200, 500)
    assert dict(royalty.by_maturity) == {"lab": 200, "pilot": 300, "industrial": 500}
    assert national.rule("entry_fee").value == 0


def test_local_profiles_inherit_provincial_and_national_rules() -> None:
    zhuhai = profile("zhuhai-2025")
    assert zhuhai.rule("fixed_fee_max").profile_key == "national-open-licence"
    assert zhuhai.rule("horizontal_income_share").profile_key == "guangdong-2016"
    assert zhuhai.rule("use_first_pool_after_years").profile_key == "zhuhai-2025"


def test_every_rule_has_a_citation_and_a_source(all_profiles: dict) -> None:
    for prof in all_profiles.values():
        for rule in prof.rules.values():
            assert rule.citation.document and rule.citation.article, rule.id
            assert rule.source.split(":")[0] in ("rule", "default")


def test_profile_to_dict_exposes_rules_for_the_ui() -> None:
    data = profile("zhuhai-2025").to_dict()
    by_id = {r["id"]: r for r in data["rules"]}
    assert by_id["use_first_zero_entry_fee"]["citation"]["article"] == "措施7"
    assert by_id["use_first_scope"]["owner_kinds"] == ["university", "institute", "hospital"]
    assert by_id["fixed_fee_max"]["source"] == "rule:national-open-licence/fixed_fee_max"


# --- schema errors ------------------------------------------------------------------------------


def _write(tmp_path: Path, key: str, body: str) -> Path:
    path = tmp_path / f"{key}.toml"
    path.write_text(f'key = "{key}"\nname = "测试"\n{body}', encoding="utf-8")
    return path


RULE = """
[rules.r1]
label = "测试规则"
check = "bounds"
field = "royalty_rate"
unit = "bps"
bounds = {{ min = 0, max = 100 }}
citation = {{ document = "文件", article = "第一条" }}
{extra}
"""


def test_minimal_profile_loads(tmp_path: Path) -> None:
    loaded = load_profile(_write(tmp_path, "p", RULE.format(extra="")))
    assert loaded.rule("r1").bounds == (0, 100)
    assert loaded.rule("free_window_months").kind == "practice"


@pytest.mark.parametrize(
    ("body", "key_fragment"),
    [
        (RULE.format(extra="").replace('unit = "bps"', 'unit = "yuan"'), "rules.r1.unit"),
        (
            RULE.format(extra="").replace('field = "royalty_rate"', 'field = "nope"'),
            "rules.r1.field",
        ),
        (
            RULE.format(extra="").replace("min = 0, max = 100", "min = 100, max = 1"),
            "rules.r1.bounds",
        ),
        (
            RULE.format(extra="")
            .replace("citation = {{ document", "#")
            .replace("citation = { document", "#"),
            "rules.r1.citation",
        ),
        (RULE.format(extra='modes = ["barter"]'), "rules.r1.modes"),
        (RULE.format(extra='when = ["full_moon"]'), "rules.r1.when"),
        (RULE.format(extra="colour = 1"), "rules.r1.colour"),
        (RULE.format(extra="").replace('check = "bounds"', 'check = "maybe"'), "rules.r1.check"),
        (RULE.format(extra="").replace('unit = "bps"', 'unit = "months"'), "rules.r1.unit"),
        ('extends = "missing-parent"\n', "extends"),
        ("[defaults.not_a_default]\nvalue = 1\n", "defaults.not_a_default"),
        ('[defaults.free_window_months]\ncheck = "info"\n', "defaults.free_window_months.check"),
        (
            "[rules.royalty_rate]\nlabel='x'\ncheck='info'\nunit='bps'\ncitation={document='d', article='a'}\n",
            "rules.royalty_rate",
        ),
        ('colour = "red"\n', "colour"),
    ],
)
def test_schema_errors_name_file_and_key(tmp_path: Path, body: str, key_fragment: str) -> None:
    path = _write(tmp_path, "bad", body)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert caught.value.path == str(path)
    assert caught.value.key.startswith(key_fragment)
    assert str(path) in str(caught.value)


def test_key_must_match_file_name(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text('key = "p"\nname = "x"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match="key"):
        load_profile(path)


def test_toml_syntax_error_names_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("key = \n", encoding="utf-8")
    with pytest.raises(ProfileError, match="broken.toml"):
        load_profile(path)


def test_inheritance_cycle_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "a", 'extends = "b"\n')
    _write(tmp_path, "b", 'extends = "a"\n')
    with pytest.raises(ProfileError, match="循环继承"):
        load_profile(tmp_path / "a.toml")


def test_profile_overrides_a_practice_default(tmp_path: Path) -> None:
    body = "[defaults.free_window_months]\nvalue = 24\nbounds = { min = 12, max = 36 }\n"
    loaded = load_profile(_write(tmp_path, "xixian", body))
    rule = loaded.rule("free_window_months")
    assert (rule.value, rule.bounds, rule.kind) == (24, (12, 36), "practice")
    assert rule.source == "default:xixian/free_window_months"
    assert rule.citation.article == "免费使用期"  # kept from the built-in default


def test_child_may_tighten_a_parent_policy_rule(tmp_path: Path) -> None:
    (tmp_path / "national-open-licence.toml").write_bytes(
        (POLICY_DIR / "national-open-licence.toml").read_bytes()
    )
    body = """extends = "national-open-licence"
[rules.use_first_pool_after_years]
label = "到期即转年限"
check = "param"
unit = "years"
value = 3
citation = { document = "嘉善实践", article = "到期即转" }
"""
    loaded = load_profile(_write(tmp_path, "jiashan", body))
    assert loaded.rule("use_first_pool_after_years").value == 3
    assert loaded.rule("fixed_fee_max").profile_key == "national-open-licence"


def test_load_profiles_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ProfileError):
        load_profiles(tmp_path / "nope")
