"""LexicalIndex: BM25 ranking, lazy add/remove, atomic save/load and the tokenisers."""

from __future__ import annotations

import json

import pytest

from market.search.lexical import LexicalIndex
from market.search.tokenize import (
    bigram_set_tokens,
    bigram_tokens,
    combined_tokens,
    get_tokenizer,
    jieba_tokens,
    unibigram_tokens,
)

DOCS = {
    1: "一种电力巡检无人机及其长航时电池",
    2: "基于深度学习的水稻病虫害识别方法",
    3: "锂电池正极材料的制备方法",
    4: "城市道路积水监测传感器",
}


@pytest.fixture
def index() -> LexicalIndex:
    return LexicalIndex("unibigram").build(list(DOCS), list(DOCS.values()))


def test_bigram_tokens_split_cjk_runs_and_keep_ascii_words():
    assert bigram_tokens("无人机，5G通信 AI") == ["无人", "人机", "5g", "通信", "ai"]


def test_bigram_tokens_single_character_run_is_a_unigram():
    assert bigram_tokens("泵、阀") == ["泵", "阀"]


def test_unibigram_adds_every_character():
    assert unibigram_tokens("电池") == ["电", "池", "电池"]


def test_bigram_set_counts_each_bigram_once():
    assert bigram_set_tokens("电池电池") == ["电池", "池电"]


def test_jieba_tokens_drop_stopwords():
    tokens = jieba_tokens("一种用于电力巡检的无人机")
    assert "无人机" in tokens
    assert "的" not in tokens and "一种" not in tokens


def test_combined_contains_words_and_ngrams():
    tokens = combined_tokens("无人机巡检")
    assert "无人机" in tokens and "巡检" in tokens and "人机" in tokens


def test_unknown_tokenizer_names_the_known_ones():
    with pytest.raises(ValueError, match="unibigram"):
        get_tokenizer("nope")


def test_search_ranks_the_matching_document_first(index):
    hits = index.search("无人机电池", k=2)
    assert hits[0][0] == 1
    assert hits[0][1] > (hits[1][1] if len(hits) > 1 else 0)


def test_search_leaves_out_documents_without_shared_terms(index):
    assert index.search("量子", k=10) == []


def test_search_respects_k_and_exclude(index):
    assert len(index.search("方法", k=1)) == 1
    ids = [doc_id for doc_id, _ in index.search("方法", k=10, exclude=[2])]
    assert ids == [3]


def test_ties_break_by_insertion_order():
    idx = LexicalIndex("bigram").build(["b", "a", "c"], ["电池", "电池", "电池"])
    assert [d for d, _ in idx.search("电池", k=3)] == ["b", "a", "c"]


def test_add_and_remove_take_effect_on_next_search(index):
    index.add([5], ["海水淡化反渗透膜"])
    assert index.search("反渗透", k=1)[0][0] == 5
    assert index.remove([5, 99]) == 1
    assert index.search("反渗透", k=1) == []
    assert 5 not in index and len(index) == 4


def test_add_replaces_existing_text(index):
    index.add([4], ["反渗透膜"])
    assert 4 not in [doc_id for doc_id, _ in index.search("积水", k=5)]
    assert index.search("反渗透", k=1)[0][0] == 4


def test_empty_index_and_empty_documents():
    assert LexicalIndex().search("电池") == []
    idx = LexicalIndex().build([1, 2], ["", "电池"])
    assert [d for d, _ in idx.search("电池")] == [2]


def test_build_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        LexicalIndex().build([1, 2], ["only one"])


def test_save_load_round_trip_keeps_tokenizer_and_results(index, tmp_path):
    index.save(tmp_path / "lex")
    loaded = LexicalIndex.load(tmp_path / "lex")
    assert loaded.tokenizer_name == "unibigram"
    assert loaded.search("锂电池", k=3) == index.search("锂电池", k=3)


def test_save_switches_current_and_keeps_at_most_two_versions(index, tmp_path):
    root = tmp_path / "lex"
    first = index.save(root)
    index.add([9], ["智能灌溉"])
    second = index.save(root)
    index.add([10], ["智慧停车"])
    third = index.save(root)
    current = json.loads((root / "CURRENT").read_text())["version"]
    assert current == third.name
    assert not first.exists() and second.exists()
    assert LexicalIndex.load(root).search("停车", k=1)[0][0] == 10


def test_manifest_records_build_parameters(index):
    manifest = index.manifest()
    assert manifest["tokenizer"] == "unibigram"
    assert manifest["count"] == 4 and manifest["k1"] == 1.2


def test_thousands_of_documents_index_and_answer():
    texts = [f"样本{i}号设备的第{i % 97}类传感器" for i in range(5000)]
    idx = LexicalIndex("bigram").build(list(range(5000)), texts)
    hits = idx.search("第42类传感器", k=10)
    assert len(hits) == 10
    assert all(texts[d].endswith("第42类传感器") for d, _ in hits)


def test_document_frequencies_of_terms_and_phrases(index):
    from market.search.lexical import phrase_idf

    assert index.document_frequency("方法") == 2
    assert index.document_frequency("量子") == 0
    assert index.phrase_frequency("锂电池") == 1  # min over 锂, 电, 池, 锂电, 电池
    assert index.phrase_frequency("") == 0
    assert phrase_idf([index], "锂电池") > phrase_idf([index], "方法") > 0
    assert phrase_idf([index, LexicalIndex()], "方法") == phrase_idf([index], "方法")


def test_statistics_leave_scores_unchanged(index):
    before = index.search("锂电池制备方法", k=4)
    index.document_frequency("方法")
    assert index.search("锂电池制备方法", k=4) == before
