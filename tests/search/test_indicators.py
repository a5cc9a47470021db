"""Indicator parsing, pint units and unit-aware comparison.

The tables are phrased the way enterprises write targets and institutes write results (our own
sentences, in the style of the tt-demand demands), so a parser change is judged on real wording.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.search.indicators import (
    Indicator,
    compare,
    indicator_from_row,
    listing_indicators,
    match_indicators,
    name_similarity,
    parse_indicators,
    resolve_unit,
    satisfaction,
)


def one(text: str) -> Indicator:
    found = parse_indicators(text)
    assert len(found) == 1, found
    return found[0]


def shape(ind: Indicator) -> tuple:
    high = None if ind.high is None else pytest.approx(ind.high)
    return ind.name, ind.op, pytest.approx(ind.value), high, ind.unit


# text, name, op, value (display unit), high end of a range, display unit
DEMAND_TARGETS = [
    ("续航≥30分钟", "续航", ">=", 1800.0, None, "s"),
    ("续航时间不低于30 min", "续航时间", ">=", 1800.0, None, "s"),
    ("电池热失控预警提前时间不少于10 min", "电池热失控预警提前时间", ">=", 600.0, None, "s"),
    ("要求热失控预警提前≥10分钟", "热失控预警提前", ">=", 600.0, None, "s"),
    ("目标：电解槽每日启停≤3次", "电解槽每日启停", "<=", 3.0, None, "次"),
    ("绿电制氢消纳比例≥85%", "绿电制氢消纳比例", ">=", 85.0, None, "%"),
    ("管线泄漏定位误差≤50米", "管线泄漏定位误差", "<=", 50.0, None, "m"),
    ("目标次品率降到2%以下", "次品率", "<=", 2.0, None, "%"),
    ("换线调试时间缩短40%", "换线调试时间", "=", 40.0, None, "%"),
    ("单道漆膜干燥时间≤20分钟", "单道漆膜干燥时间", "<=", 1200.0, None, "s"),
    ("整机适应-25℃～45℃户外环境", "温度范围", "range", -25.0, 45.0, "°C"),
    ("工作温度-20~60℃", "工作温度", "range", -20.0, 60.0, "°C"),
    ("单套系统造价≤12万元", "单套系统造价", "<=", 120000.0, None, "元"),
    ("出水总铬＜0.2mg/L", "出水总铬", "<", 0.2, None, "mg/L"),
    ("泵送压力≤16MPa", "泵送压力", "<=", 16e6, None, "Pa"),
    ("单井产水量稳定在60m³/h以上", "单井产水量", ">=", 60.0, None, "m³/h"),
    ("保鲜期延长至3个月以上", "保鲜期", ">=", 3 * 2629800.0, None, "s"),
    ("放电时间缩短到1小时内", "放电时间", "<=", 3600.0, None, "s"),
    ("含水率由12%降低到6%以下", "含水率", "<=", 6.0, None, "%"),
    ("尺寸波动收窄到±0.02mm", "尺寸波动", "<=", 2e-5, None, "m"),
    ("光纤衰减≤0.32dB/km", "光纤衰减", "<=", 0.32, None, "dB/km"),
    ("湿态摩擦系数≤0.04", "湿态摩擦系数", "<=", 0.04, None, ""),
    ("单线日产能≥1500只", "单线日产能", ">=", 1500.0, None, "只"),
    ("饲料系数降到1.3以下", "饲料系数", "<=", 1.3, None, ""),
    ("年消纳固废≥20万吨", "年消纳固废", ">=", 2e8, None, "kg"),
    ("每亩种植成本增加不超过30元", "每亩种植成本", "<=", 30.0, None, "元"),
    ("储能容量100千瓦时", "储能容量", "=", 3.6e8, None, "J"),
    ("识别准确率不低于95％", "识别准确率", ">=", 95.0, None, "%"),
    ("精度达到±0.05毫米", "精度", "<=", 5e-5, None, "m"),
    ("响应时间小于200ms", "响应时间", "<", 0.2, None, "s"),
    ("功率 1.5kW", "功率", "=", 1500.0, None, "W"),
    ("功率1.5KW", "功率", "=", 1500.0, None, "W"),
    ("速度达到36km/h", "速度", "=", 10.0, None, "m/s"),
    ("电池容量3000mAh以上", "电池容量", ">=", 3000.0, None, "mAh"),
    ("使用寿命不少于5年", "使用寿命", ">=", 5 * 31557600.0, None, "s"),
    ("回收率损失不超过1个百分点", "回收率损失", "<=", 1.0, None, "%"),
    ("覆盖面积不小于2亩", "覆盖面积", ">=", 2000 / 3 * 2, None, "m²"),
    ("单样检测≤30秒", "单样检测", "<=", 30.0, None, "s"),
]


@pytest.mark.parametrize(("text", "name", "op", "value", "high", "unit"), DEMAND_TARGETS)
def test_parses_demand_targets(text, name, op, value, high, unit):
    assert shape(one(text)) == shape(Indicator(name, op, value, unit, "", high=high))


# Outcome claims: what institutes write about their results.
OUTCOME_CLAIMS = [
    ("可在热失控前约20分钟发出预警", "提前", "~", 1200.0, "s"),
    ("提前约25分钟预警", "提前", "~", 1500.0, "s"),
    ("续航约40分钟", "续航", "~", 2400.0, "s"),
    ("定位精度0.1毫米", "定位精度", "=", 1e-4, "m"),
    ("实测次品率仅为1.2%", "次品率", "=", 1.2, "%"),
    ("经测试响应时间0.15秒", "响应时间", "=", 0.15, "s"),
    ("单位造价约9.5万元", "单位造价", "~", 95000.0, "元"),
]


@pytest.mark.parametrize(("text", "name", "op", "value", "unit"), OUTCOME_CLAIMS)
def test_parses_outcome_claims(text, name, op, value, unit):
    assert shape(one(text)) == shape(Indicator(name, op, value, unit, ""))


# Quantities that describe the site or the situation, not a target or a claimed result.
NOT_INDICATORS = [
    "单站2.5MWh储能",
    "我司在西北运营一座150MW光伏电站",
    "车间有8台4kW激光切割机",
    "现拟配置约15%容量的储能",
    "每月停炉清焦2～3次",
    "年采购布料约1500万米",
    "2025年3月完成部署，采用5G网络",
    "6英寸晶圆产线",
    "芯棒按G.652.D标准生产",
    "正极材料NCM811",
    "细胞传到P5以后",
    "铅笔硬度2H",
]


@pytest.mark.parametrize("text", NOT_INDICATORS)
def test_descriptions_are_not_indicators(text):
    assert parse_indicators(text) == []


def test_names_keep_their_first_character():
    names = [
        i.name for i in parse_indicators("新能源电量制氢消纳率≥90%，热失控预警提前时间≥10分钟")
    ]
    assert names == ["新能源电量制氢消纳率", "热失控预警提前时间"]


def test_a_baseline_is_skipped_and_the_target_kept():
    found = parse_indicators("综合利用率由25%提高到65%以上")
    assert [(i.name, i.op, i.value) for i in found] == [("综合利用率", ">=", 65.0)]


def test_current_state_and_target_are_both_read():
    found = parse_indicators("月均次品率约5%。目标次品率降到1.5%以下")
    assert [(i.name, i.op) for i in found] == [("月均次品率", "~"), ("次品率", "<=")]


def test_direction_hints():
    assert one("成本降低20%").change == "decrease"
    assert one("成本降低20%").direction == "higher"
    assert one("效率提升15%").change == "increase"
    assert one("精度0.1mm").direction == "lower"
    assert one("识别精度99%").direction == "higher"
    assert one("响应时间200ms").direction == "lower"
    assert one("续航30分钟").direction == "higher"
    assert one("提前约20分钟预警").direction == "higher"


def test_a_word_ending_in_a_change_character_is_not_a_change():
    ind = one("光纤衰减≤0.3dB/km")
    assert (ind.name, ind.change) == ("光纤衰减", None)


def test_absolute_targets_after_change_verbs():
    ind = one("延迟降低至200ms")
    assert (ind.op, ind.change) == ("<=", None)
    assert one("良率提高到98%").op == ">="


def test_suffix_operators():
    assert one("续航30分钟以上").op == ">="
    assert one("误差0.5mm以内").op == "<="
    assert one("单次充电时间2小时内").op == "<="


def test_several_indicators_and_clause_boundaries():
    found = parse_indicators("要求无人机续航时间在30分钟以上，识别准确率不低于95%，预算50万元")
    assert [i.name for i in found] == ["无人机续航时间", "识别准确率", "预算"]
    numbered = parse_indicators("需求：1）误报率≤5%；2）定位误差≤100米")
    assert [i.name for i in numbered] == ["误报率", "定位误差"]


def test_filler_words_are_dropped_but_real_words_kept():
    assert one("可使能耗降低12%").name == "能耗"
    assert one("耗氧量稳定≤4.8mg/100g").name == "耗氧量"


def test_label_uses_the_authors_unit():
    assert one("续航时间不低于30分钟").label == "续航时间≥30分钟"
    assert one("成本降低20%").label == "成本降低20%"
    assert one("工作温度-20~60℃").label == "工作温度-20~60°C"


def test_units_come_from_pint():
    assert resolve_unit("MWh").factor == pytest.approx(3.6e9)
    assert resolve_unit("兆瓦时") == resolve_unit("MWh")
    assert resolve_unit("m3/h") == resolve_unit("立方米/小时")
    assert resolve_unit("h") is not None and resolve_unit("G") is None and resolve_unit("H") is None
    assert resolve_unit("万元") is None  # 万 is a multiplier, read by the parser


def test_compare_is_unit_aware():
    demand = one("续航≥30分钟")
    assert compare(demand, one("续航0.75小时")) == "met"
    assert compare(demand, one("续航时间25分钟")) == "not_met"
    assert compare(demand, one("续航0.5小时")) == "met"  # exactly on the bound


def test_about_twenty_minutes_meets_at_least_ten():
    demand = one("热失控预警提前≥10分钟")
    assert compare(demand, one("可提前约20分钟预警")) == "met"
    assert compare(demand, one("提前约5分钟预警")) == "not_met"
    matches = match_indicators([demand], "在热失控发生前提前约20分钟发出预警信号")
    assert matches[0].status == "met"


def test_compare_lower_is_better_and_bounds():
    demand = one("响应时间小于200ms")
    assert compare(demand, one("响应时间0.15秒")) == "met"
    assert compare(demand, one("响应时间200ms")) == "not_met"
    assert compare(demand, one("响应时间不超过300ms")) == "unknown"
    assert compare(demand, one("响应时间不低于300ms")) == "not_met"


def test_compare_bare_targets_use_direction():
    assert compare(one("载重5公斤"), one("载重6kg")) == "met"
    assert compare(one("精度0.1mm"), one("精度0.05毫米")) == "met"
    assert compare(one("精度0.1mm"), one("精度0.2毫米")) == "not_met"


def test_compare_ranges():
    window = one("整机适应-30℃～50℃户外环境")
    assert compare(window, one("工作温度-40~70℃")) == "met"  # covers the window
    assert compare(window, one("工作温度0~40℃")) == "unknown"  # works in part of it only
    assert compare(window, one("工作温度60~80℃")) == "not_met"
    assert compare(window, one("工作温度-40~30℃")) == "unknown"
    assert compare(one("含水率8%~10%"), one("含水率9%")) == "met"


def test_compare_changes_and_mismatched_dimensions():
    assert compare(one("成本降低20%"), one("成本降低25%")) == "met"
    assert compare(one("成本降低20%"), one("成本降低10%")) == "not_met"
    assert compare(one("成本降低20%"), one("效率提升25%")) == "unknown"
    assert compare(one("续航30分钟"), one("续航30公斤")) == "unknown"
    assert compare(one("日产能≥1500只"), one("日产能2000台")) == "unknown"


def test_name_similarity_uses_synonyms_and_containment():
    assert name_similarity("续航时间", "续航") == 1.0
    assert name_similarity("定位误差", "定位精度") == 1.0
    assert name_similarity("载荷", "载重") == 1.0
    assert name_similarity("预警提前时间", "提前") == 1.0
    assert name_similarity("功率", "寿命") == 0.0
    assert name_similarity("", "续航") == 0.0


def test_match_indicators_pairs_by_name_and_dimension():
    demand = parse_indicators("续航时间不低于30分钟，定位精度±0.05mm，成本降低20%，重量5kg")
    matches = match_indicators(demand, "续航约40分钟，定位精度0.1毫米，可使成本降低25%")
    status = {m.demand.name: m.status for m in matches}
    assert status == {"续航时间": "met", "定位精度": "not_met", "成本": "met", "重量": "unknown"}
    assert matches[3].outcome is None
    assert satisfaction(matches) == pytest.approx((1 + 0 + 1 + 0.5) / 4)
    assert satisfaction([]) is None


def test_rows_entered_in_a_form_become_declared_indicators():
    row = indicator_from_row({"name": "预警提前时间", "op": ">=", "value": 10, "unit": "分钟"})
    assert (row.name, row.op, row.value, row.unit, row.declared) == (
        "预警提前时间",
        ">=",
        600.0,
        "s",
        True,
    )
    assert row.label == "预警提前时间≥10分钟"
    assert indicator_from_row({"name": "预算", "op": "<=", "value": 50, "unit": "万元"}).value == (
        pytest.approx(500000.0)
    )
    assert indicator_from_row({"name": "合格", "op": ">=", "value": 1, "unit": "档"}) is None


def test_listing_indicators_put_declared_rows_first_and_skip_restatements():
    rows = [{"name": "预警提前时间", "op": ">=", "value": 10, "unit": "分钟"}]
    found = listing_indicators(rows, "热失控预警提前≥10分钟，误报率≤5%")
    assert [(i.name, i.declared) for i in found] == [("预警提前时间", True), ("误报率", False)]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parser_never_crashes_on_arbitrary_text(text):
    for ind in parse_indicators(text):
        assert ind.name and ind.dimension


# Spelling -> (factor to the display unit, display unit): the oracle for the generated strings.
SPELLED_UNITS = {
    "分钟": (60.0, "s"),
    "min": (60.0, "s"),
    "小时": (3600.0, "s"),
    "毫米": (1e-3, "m"),
    "mm": (1e-3, "m"),
    "公斤": (1.0, "kg"),
    "kW": (1e3, "W"),
    "千瓦时": (3.6e6, "J"),
    "MWh": (3.6e9, "J"),
    "%": (1.0, "%"),
    "km/h": (1 / 3.6, "m/s"),
    "MPa": (1e6, "Pa"),
    "元": (1.0, "元"),
    "Ah": (1e3, "mAh"),
    "m³/h": (1.0, "m³/h"),
    "次": (1.0, "次"),
}


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(["续航时间", "定位精度", "载重", "功率", "识别准确率", "成本"]),
    op_word=st.sampled_from(
        [("不低于", ">="), ("≤", "<="), ("大于", ">"), ("小于", "<"), ("约", "~")]
    ),
    number=st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False),
    unit=st.sampled_from(sorted(SPELLED_UNITS)),
    space=st.sampled_from(["", " "]),
)
def test_generated_indicator_strings_round_trip(name, op_word, number, unit, space):
    word, op = op_word
    ind = one(f"{name}{word}{number}{space}{unit}")
    factor, display = SPELLED_UNITS[unit]
    assert (ind.name, ind.op, ind.unit) == (name, op, display)
    assert ind.value == pytest.approx(float(number) * factor)


def test_units_that_start_with_a_multiplier_character():
    assert one("储能容量100千瓦时").unit == "J"
    assert one("载重5千克").value == pytest.approx(5.0)
    assert one("载重5万吨").value == pytest.approx(5e7)


def test_link_words_between_name_and_operator_are_dropped():
    ind = one("各批次颗粒粒径均以＜0.5 mm为准")
    assert (ind.name, ind.op) == ("各批次颗粒粒径", "<")
