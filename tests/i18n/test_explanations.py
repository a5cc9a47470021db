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
