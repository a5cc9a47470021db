"""A proposal's explanation in the reader's language: the matcher stores its sentence as
clauses (catalogue template + values), so pages and the API can give it in English while the
listings' own words stay as written."""

from __future__ import annotations

import re

from flask_babel import force_locale

from market.i18n import explanation_for_reader, sentence
from market.search import features as f
from market.search.features import FitFeatures, explain

HAN = re.compile(r"[\u4e00-\u9fff]")


def _features() -> FitFeatures:
    return FitFeatures(
        values={"semantic": 0.8, "budget": 0.5, "use_first": 1.0, "maturity": 1.0},
        details={
            "hard_constraints": ["patent_in_force"],
            "region": "same_city",
            "required_stage": "pilot",
            "outcome_stage": "lab",
            "maturity_gap": 1,
        },
    )


def test_the_stored_sentence_is_the_chinese_reading_of_its_clauses(app):
    ex = explain(_features(), ["热失控", "电池包"])
    assert ex["sentence"] == f.sentence_text(ex["sentence_clauses"])
    assert ex["sentence"].startswith("双方文本均涉及“热失控、电池包”；")
    assert "不满足：专利处于有效状态" in ex["sentence"] and ex["sentence"].endswith("。")
    with app.test_request_context("/"):
        assert sentence(ex, mark=False) == ex["sentence"]  # Chinese pages: unchanged


def test_the_sentence_in_english_keeps_only_the_listings_words_in_chinese(app):
    ex = explain(_features(), ["热失控", "电池包"])
    with app.test_request_context("/?lang=en"), force_locale("en"):
        plain = sentence(ex, mark=False)
        marked = str(sentence(ex))
    assert plain.startswith('Both texts mention "热失控, 电池包"; maturity is Lab scale, below the')
    assert "; both are in the same city; the asking price is above the budget;" in plain
    assert "not met: Patents are in force" in plain and plain.endswith(".")
    assert not HAN.search(plain.replace("热失控", "").replace("电池包", ""))
    assert '<span translate="no">热失控, 电池包</span>' in marked  # data marked, not translated


def test_the_api_explanation_follows_the_language(app):
    ex = explain(_features(), ["battery"])
    with app.test_request_context("/?lang=en"), force_locale("en"):
        shown = explanation_for_reader(ex)
    assert not HAN.search(shown["sentence"])
    assert all(not HAN.search(row["label"]) for row in shown["breakdown"])
    assert all(not HAN.search(row["label"]) for row in shown["constraints"])
    assert shown["sentence_clauses"] == ex["sentence_clauses"]  # codes and values unchanged
    with app.test_request_context("/"):
        assert explanation_for_reader(ex) == ex


def test_an_older_explanation_without_clauses_is_shown_as_stored(app):
    with app.test_request_context("/?lang=en"), force_locale("en"):
        assert sentence({"sentence": "旧的说明。"}) == "旧的说明。"


def test_a_broken_rule_reads_in_english_with_the_sheets_units(app):
    """A profile rule's violation: labels and values as the sheet shows them, the rule's name
    and citation quoted in Chinese (marked)."""
    from market.licensing import Violation
    from market.licensing.validation import NOT_ALLOWED, OUT_OF_BOUNDS
    from market.ui.change_log import violation_text

    months = Violation(
        "free_window_months", "practice", "实践默认值", "free_window_months", "免费使用期为-5个月",
        OUT_OF_BOUNDS,
        {
            "field": "free_window_months",
            "actual_value": {"value": -5, "unit": "months", "enum": "free_window_months"},
            "rule": "免费/延期使用期",
            "bounds": {"low": 12, "high": 60, "unit": "months"},
        },
    )  # fmt: skip
    fee = Violation(
        "fee_form", "policy", "某政策", "fee_form", "付费方式为……", NOT_ALLOWED,
        {
            "field": "fee_form",
            "actual_value": {"value": "lump_sum", "unit": "enum", "enum": "fee_form"},
            "rule": "付费方式",
            "allowed_values": [{"value": "royalty", "unit": "enum", "enum": "fee_form"}],
        },
    )  # fmt: skip
    with app.test_request_context("/?lang=en"), force_locale("en"):
        plain = violation_text(months, mark=False)
        marked = str(violation_text(fee))
    assert plain.startswith("Free-use period is -5 months, outside")
    assert "(12 months to 60 months)" in plain and "rule free_window_months" in plain
    assert '<span lang="zh-CN">付费方式</span>' in marked and "allows only" in marked
    assert not HAN.search(re.sub(r'<span lang="zh-CN">[^<]*</span>', "", marked))
