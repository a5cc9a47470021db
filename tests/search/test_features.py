"""Fit features, hard constraints, the combined score and its Chinese explanation."""

from __future__ import annotations

from datetime import date

import pytest

from market.search.features import (
    DemandFacts,
    OutcomeFacts,
    budget_fit,
    combine,
    compute_features,
    cooperation_fit,
    explain,
    hard_constraints,
    ipc_compatibility,
    matched_phrases,
    maturity_fit,
    overlap,
    patent_life_fit,
    region_relation,
    stage_of,
    use_first_eligible,
    visible_to,
)

TODAY = date(2026, 1, 1)


def demand(**kw) -> DemandFacts:
    base = dict(
        text="需要电力巡检无人机，续航时间不低于30分钟，定位精度±0.05mm，成本降低20%",
        ipc_codes=["B64C"],
        required_maturity="industrial",
        city="珠海",
        province="广东",
        budget_fen=50_000_000,
        cooperation_modes=["license", "use_first"],
        is_sme=True,
    )
    return DemandFacts(**{**base, **kw})


def outcome(**kw) -> OutcomeFacts:
    base = dict(
        text="一种用于电力巡检的长航时无人机，续航约40分钟，定位精度0.1毫米，可使成本降低25%",
        ipc_codes=["B64C 39/02"],
        maturity="pilot",
        city="香港",
        asking_price_fen=80_000_000,
        cooperation_modes=["use_first"],
        patent_status="granted",
        patent_expires_on=date(2035, 1, 1),
    )
    return OutcomeFacts(**{**base, **kw})


def test_ipc_levels():
    assert ipc_compatibility(["B64C"], ["B64C 39/02"]) == (1.0, "subclass")
    assert ipc_compatibility(["B64C"], ["B64D"]) == (0.6, "class")
    assert ipc_compatibility(["B64C"], ["B60L"]) == (0.3, "section")
    assert ipc_compatibility(["B64C"], ["H01M"]) == (0.0, "none")
    assert ipc_compatibility([], ["H01M"]) == (None, "unknown")


def test_overlap_and_cooperation():
    assert overlap(["a", "b"], ["b", "c"]) == pytest.approx(1 / 3)
    assert overlap([], ["a"]) is None
    assert cooperation_fit(["license"], ["license", "transfer"]) == 1.0
    assert cooperation_fit(["equity"], ["license"]) == 0.0
    assert cooperation_fit(["bogus"], ["license"]) is None


def test_maturity_gap_and_trl():
    assert maturity_fit("industrial", "pilot") == (0.5, 1)
    assert maturity_fit("industrial", "lab") == (0.0, 2)
    assert maturity_fit("pilot", "industrial") == (1.0, -1)
    assert maturity_fit(None, "lab") == (None, None)
    assert stage_of(None, 6) == "pilot"
    assert stage_of("lab", 9) == "lab"
    assert stage_of(None, None) is None


@pytest.mark.parametrize(
    ("d", "o", "expected"),
    [
        (("深圳市", "广东省"), ("深圳", "广东"), "same_city"),
        (("广州", "广东"), ("佛山", "广东"), "same_province"),
        (("珠海", "广东"), ("澳门", None), "greater_bay_area"),
        (("深圳", "广东"), ("香港特别行政区", None), "greater_bay_area"),
        (("深圳", "广东"), ("杭州", "浙江"), "other"),
        (("汕头", "广东"), ("香港", None), "other"),
        ((None, None), ("杭州", "浙江"), "unknown"),
    ],
)
def test_region_relation(d, o, expected):
    assert region_relation(*d, *o) == expected


def test_budget_fit_in_fen():
    assert budget_fit(100_00, 80_00) == 1.0
    assert budget_fit(100_00, 200_00) == 0.5
    assert budget_fit(None, 1) is None


def test_patent_life():
    assert patent_life_fit("granted", date(2035, 1, 1), TODAY) == 1.0
    assert patent_life_fit("granted", date(2028, 7, 2), TODAY) == pytest.approx(0.5, abs=0.01)
    assert patent_life_fit("expired", None, TODAY) == 0.0
    assert patent_life_fit("granted", date(2025, 1, 1), TODAY) == 0.0
    assert patent_life_fit("pending", None, TODAY) == pytest.approx(0.6)
    assert patent_life_fit(None, None, TODAY) is None


def test_use_first_needs_offer_granted_patent_and_sme():
    assert use_first_eligible(demand(), outcome(), TODAY)
    assert not use_first_eligible(demand(is_sme=False), outcome(), TODAY)
    assert not use_first_eligible(demand(), outcome(cooperation_modes=["transfer"]), TODAY)
    assert not use_first_eligible(demand(), outcome(patent_status="pending"), TODAY)


def test_hard_constraints():
    assert hard_constraints(demand(), outcome(), TODAY) == []
    failed = hard_constraints(
        demand(status="closed"),
        outcome(patent_status="expired", confidentiality="broker_only"),
        TODAY,
    )
    assert failed == ["patent_in_force", "demand_open"]
    assert hard_constraints(demand(closes_on=date(2025, 12, 31)), outcome(), TODAY) == [
        "demand_open"
    ]


def test_visibility_filters_lists_but_is_never_an_unmet_condition():
    """A 仅经纪人可见 listing is left out of lists for non-brokers; its pairs' reasons never
    report visibility as a condition the pair fails."""
    hidden = outcome(confidentiality="broker_only")
    assert hard_constraints(demand(), hidden, TODAY) == []
    assert not visible_to(demand(), hidden, viewer_is_broker=False)
    assert visible_to(demand(), hidden, viewer_is_broker=True)
    assert visible_to(demand(), outcome(), viewer_is_broker=False)
    features = compute_features(demand(confidentiality="broker_only"), outcome(), today=TODAY)
    told = explain(features)
    assert "可见" not in told["sentence"]
    assert all("可见" not in row["label"] for row in told["constraints"])


def test_compute_features_values():
    f = compute_features(demand(), outcome(), semantic=0.8, lexical=1.7, today=TODAY)
    v = f.values
    assert v["semantic"] == 0.8 and v["lexical"] == 1.0  # clipped
    assert v["ipc"] == 1.0 and v["maturity"] == 0.5 and v["region"] == 0.7
    assert v["budget"] == pytest.approx(0.625)
    assert v["use_first"] == 1.0 and v["industry"] is None
    assert v["indicators"] == pytest.approx(2 / 3)


def test_combine_ignores_unknown_features():
    assert combine({"a": 1.0, "b": None}, {"a": 1.0, "b": 5.0}) == 1.0
    assert combine({"a": 1.0, "b": 0.0}, {"a": 1.0, "b": 3.0}) == pytest.approx(0.25)
    assert combine({"a": None}, {"a": 1.0}) == 0.0


def test_better_outcome_scores_higher():
    good = compute_features(demand(), outcome(maturity="industrial"), 0.8, 0.6, TODAY)
    worse = compute_features(demand(), outcome(maturity="lab"), 0.8, 0.6, TODAY)
    assert combine(good) > combine(worse)


def test_explain_sentence_and_constraints():
    f = compute_features(demand(), outcome(), 0.8, 0.6, TODAY)
    out = explain(f, matched_phrases(demand().text, outcome().text))
    assert "该成果的续航约40分钟" in out["sentence"]
    assert "可满足需求中的续航时间≥30分钟" in out["sentence"]
    assert "成熟度为中试，低于需求的产业化要求" in out["sentence"]
    assert "粤港澳大湾区" in out["sentence"]
    assert all(row["mark"] == "✓" for row in out["constraints"])
    assert sum(r["contribution"] or 0 for r in out["breakdown"]) == pytest.approx(
        out["score"], abs=1e-3
    )


def test_explain_marks_failed_constraints():
    f = compute_features(demand(), outcome(patent_status="expired"), 0.8, 0.6, TODAY)
    out = explain(f)
    marks = {row["code"]: row["mark"] for row in out["constraints"]}
    assert marks["patent_in_force"] == "✗" and marks["demand_open"] == "✓"
    assert "不满足：专利处于有效状态" in out["sentence"]


def test_matched_phrases_spans_point_at_the_phrase():
    d, o = demand().text, outcome().text
    m = matched_phrases(d, o)
    assert "无人机" in m["phrases"] and "巡检" in m["phrases"]
    assert "分钟" not in m["phrases"]  # units are not highlights
    assert all(d[s:e] in m["phrases"] for s, e in m["demand_spans"])
    assert all(o[s:e] in m["phrases"] for s, e in m["outcome_spans"])
    assert matched_phrases("", o)["phrases"] == []


def test_a_demand_without_indicators_never_reads_the_outcome_text(monkeypatch):
    from market.search import features

    def no_parsing(text):
        raise AssertionError(f"parsed {text!r}")

    plain = demand(text="需要电力巡检无人机", indicators=[])
    monkeypatch.setattr(features, "parse_indicators", no_parsing)
    f = compute_features(plain, outcome(indicators=None), 0.8, 0.6, TODAY)
    assert f.values["indicators"] is None and f.details["indicator_matches"] == []


def test_an_empty_indicator_list_means_none_found_not_unread():
    with_text = compute_features(demand(), outcome(), 0.8, 0.6, TODAY)
    read_empty = compute_features(demand(), outcome(indicators=[]), 0.8, 0.6, TODAY)
    assert with_text.values["indicators"] == pytest.approx(2 / 3)
    assert read_empty.values["indicators"] == 0.5  # every demand indicator unknown


# -- evidence that explains ---------------------------------------------------------------

# A small catalogue in which 系统/方法/装置/温度 are everywhere and the battery terms rare.
_FIELDS = [
    "一种桥梁结构健康监测系统及方法",
    "一种变频器温度控制装置",
    "基于温度补偿的压力传感器标定方法",
    "一种输电线路巡检机器人系统",
    "一种污水处理装置及控制方法",
    "一种农业大棚温度与湿度控制系统",
    "一种隧道通风系统及其控制方法",
    "一种混凝土养护温度监测装置",
]


@pytest.fixture(scope="module")
def catalogue():
    from market.search.lexical import LexicalIndex

    texts = [f"{_FIELDS[i % len(_FIELDS)]}（第{i}号）" for i in range(300)]
    texts += [
        "一种储能电站锂电池热失控预警方法及系统",
        "基于气体检测的锂电池热失控早期预警装置",
    ]
    return LexicalIndex().build(list(range(len(texts))), texts)


BATTERY_DEMAND = "储能电站锂电池热失控预警系统：温度异常时完成报警，预警提前≥10分钟"
BATTERY_OUTCOME = "一种锂电池热失控预警方法及系统，监测温度和气体，完成报警，可提前约20分钟预警"


def test_shared_phrases_are_weighed_by_catalogue_rarity(catalogue):
    m = matched_phrases(BATTERY_DEMAND, BATTERY_OUTCOME, catalogue=[catalogue])
    assert "锂电池" in m["phrases"] and any("失控" in p for p in m["phrases"])
    for generic in ("系统", "方法", "装置", "温度", "完成", "报警", "预警", "一种"):
        assert generic not in m["phrases"]
    weights = [m["weights"][p] for p in m["phrases"]]
    assert weights == sorted(weights, reverse=True)  # most distinctive first


def test_an_empty_or_small_catalogue_falls_back_to_general_word_rarity():
    from market.search.lexical import LexicalIndex

    for catalogue in ([], [LexicalIndex()]):
        m = matched_phrases(BATTERY_DEMAND, BATTERY_OUTCOME, catalogue=catalogue)
        assert "锂电池" in m["phrases"] and any("失控" in p for p in m["phrases"])
        assert not {"系统", "方法", "温度", "完成", "报警"} & set(m["phrases"])


def test_a_pair_sharing_only_generic_words_cites_no_phrases(catalogue):
    m = matched_phrases(
        BATTERY_DEMAND, "一种变频器高温故障报警系统，完成温度控制", catalogue=[catalogue]
    )
    assert m["phrases"] == []
    f = compute_features(demand(text=BATTERY_DEMAND), outcome(), 0.5, 0.5, TODAY)
    assert "双方文本均涉及" not in explain(f, m)["sentence"]


def _evidence(found: int) -> dict:
    return {"neighbors_retrieved": found, "neighbors": 20}


def test_the_neighbour_sentence_only_when_it_sets_a_proposal_apart():
    f = compute_features(demand(), outcome(), 0.8, 0.6, TODAY)
    same = [_evidence(20) for _ in range(10)]
    assert "最相近的20项" not in explain(f, (), evidence=same[0], peers=same)["sentence"]
    spread = [_evidence(n) for n in (20, 18, 15, 12, 9, 6, 4, 3, 2, 1)]
    assert "最相近的20项中有18项" in explain(f, (), evidence=spread[1], peers=spread)["sentence"]
    assert "最相近的20项" not in explain(f, (), evidence=spread[5], peers=spread)["sentence"]
    # without the list each proposal is judged alone, as before
    assert "最相近的20项中有20项" in explain(f, (), evidence=same[0])["sentence"]


def test_the_explanation_cites_the_demands_own_indicator_rows():
    from market.search.indicators import listing_indicators

    rows = [{"name": "预警提前时间", "op": ">=", "value": 10, "unit": "分钟"}]
    asked = demand(text=BATTERY_DEMAND, indicators=listing_indicators(rows, BATTERY_DEMAND))
    f = compute_features(asked, outcome(text=BATTERY_OUTCOME), 0.8, 0.6, TODAY)
    out = explain(f)
    assert "该成果的提前约20分钟可满足需求中的预警提前时间≥10分钟" in out["sentence"]
    assert "未达到" not in out["sentence"]
    assert out["indicators"][0] == {
        "demand": "预警提前时间≥10分钟",
        "outcome": "提前约20分钟",
        "status": "met",
        "declared": True,
    }
