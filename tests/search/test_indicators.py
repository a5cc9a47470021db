"""Indicator parsing, unit normalisation and unit-aware comparison."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from market.search.indicators import (
    UNITS,
    Indicator,
    compare,
    match_indicators,
    name_similarity,
    parse_indicators,
    satisfaction,
)


def one(text: str) -> Indicator:
    found = parse_indicators(text)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("text", "name", "op", "value", "unit"),
    [
        ("续航≥30分钟", "续航", ">=", 1800.0, "s"),
        ("续航时间不低于30 min", "续航时间", ">=", 1800.0, "s"),
        ("精度0.1mm", "精度", "=", 0.0001, "m"),
        ("精度达到±0.05毫米", "精度", "<=", 0.00005, "m"),
        ("成本降低20%", "成本", "=", 20.0, "%"),
        ("效率提升 15 %", "效率", "=", 15.0, "%"),
        ("载重5公斤", "载重", "=", 5.0, "kg"),
        ("响应时间小于200ms", "响应时间", "<", 0.2, "s"),
        ("功率 1.5kW", "功率", "=", 1500.0, "W"),
        ("功率1.5KW", "功率", "=", 1500.0, "W"),
        ("预算50万元", "预算", "=", 500000.0, "元"),
        ("投资不超过2亿元", "投资", "<=", 2e8, "元"),
        ("速度达到36km/h", "速度", "=", 10.0, "m/s"),
        ("工作温度不高于60℃", "工作温度", "<=", 60.0, "°C"),
        ("电池容量3000mAh以上", "电池容量", ">=", 3000.0, "mAh"),
        ("使用寿命不少于5年", "使用寿命", ">=", 5 * 3.15576e7, "s"),
        ("识别准确率不低于95％", "识别准确率", ">=", 95.0, "%"),
    ],
)
def test_parses_examples(text, name, op, value, unit):
    ind = one(text)
    assert (ind.name, ind.op, ind.unit) == (name, op, unit)
    assert ind.value == pytest.approx(value)


def test_direction_hints():
    assert one("成本降低20%").change == "decrease"
    assert one("成本降低20%").direction == "higher"
    assert one("效率提升15%").change == "increase"
    assert one("精度0.1mm").direction == "lower"
    assert one("识别精度99%").direction == "higher"
    assert one("响应时间200ms").direction == "lower"
    assert one("续航30分钟").direction == "higher"


def test_absolute_targets_after_change_verbs():
    ind = one("延迟降低至200ms")
    assert (ind.op, ind.change) == ("<=", None)
    assert one("良率提高到98%").op == ">="


def test_suffix_operators_and_ranges():
    assert one("续航30分钟以上").op == ">="
    assert one("误差0.5mm以内").op == "<="
    ind = one("工作温度-20~60℃")
    assert (ind.name, ind.op, ind.value) == ("工作温度", "~", 20.0)


def test_several_indicators_and_clause_boundaries():
    found = parse_indicators("要求无人机续航时间在30分钟以上，识别准确率不低于95%，预算50万元")
    assert [i.name for i in found] == ["无人机续航时间", "识别准确率", "预算"]


def test_dates_and_5g_are_not_indicators():
    assert parse_indicators("2025年3月完成部署，采用5G网络") == []


def test_filler_words_are_dropped_but_real_words_kept():
    assert one("可使能耗降低12%").name == "能耗"


def test_label_uses_the_authors_unit():
    assert one("续航时间不低于30分钟").label == "续航时间≥30分钟"
    assert one("成本降低20%").label == "成本降低20%"


def test_compare_is_unit_aware():
    demand = one("续航≥30分钟")
    assert compare(demand, one("续航0.75小时")) == "met"
    assert compare(demand, one("续航时间25分钟")) == "not_met"
    assert compare(demand, one("续航0.5小时")) == "met"  # exactly on the bound


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


def test_compare_changes_and_mismatched_dimensions():
    assert compare(one("成本降低20%"), one("成本降低25%")) == "met"
    assert compare(one("成本降低20%"), one("成本降低10%")) == "not_met"
    assert compare(one("成本降低20%"), one("效率提升25%")) == "unknown"
    assert compare(one("续航30分钟"), one("续航30公斤")) == "unknown"


def test_name_similarity_uses_synonyms_and_containment():
    assert name_similarity("续航时间", "续航") == 1.0
    assert name_similarity("定位误差", "定位精度") == 1.0
    assert name_similarity("载荷", "载重") == 1.0
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


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parser_never_crashes_on_arbitrary_text(text):
    for ind in parse_indicators(text):
        assert ind.unit and ind.dimension


_ASCII_SAFE_UNITS = sorted(u for u in UNITS if u not in ("t", "h", "s", "g", "m", "A", "V", "J"))


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(["续航时间", "定位精度", "载重", "功率", "识别准确率", "成本"]),
    op_word=st.sampled_from(
        [("不低于", ">="), ("≤", "<="), ("大于", ">"), ("小于", "<"), ("约", "~")]
    ),
    number=st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False),
    unit=st.sampled_from(_ASCII_SAFE_UNITS),
    space=st.sampled_from(["", " "]),
)
def test_generated_indicator_strings_round_trip(name, op_word, number, unit, space):
    word, op = op_word
    ind = one(f"{name}{word}{number}{space}{unit}")
    dimension, factor = UNITS[unit]
    assert (ind.name, ind.op, ind.dimension) == (name, op, dimension)
    assert ind.value == pytest.approx(float(number) * factor)


def test_units_that_start_with_a_multiplier_character():
    assert one("储能容量100千瓦时").unit == "J"
    assert one("载重5千克").value == pytest.approx(5.0)
    assert one("载重5万吨").value == pytest.approx(5e7)
