"""Adapting the encoder: folds, the training data each source gives, and a real (tiny) LoRA run.

The training loop, merging and adapter replay run on a 2-layer BERT built here (seconds, no
download); the run over the bundled multilingual-e5-small is marked ``model``."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from market.search import adapt


def write_bench(folder: Path, queries: list[dict], corpus: dict[str, str], qrels: list[tuple]):
    folder.mkdir(parents=True)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for doc_id, text in corpus.items():
            fh.write(json.dumps({"_id": doc_id, "title": "", "text": text}, ensure_ascii=False))
            fh.write("\n")
    with open(folder / "queries.dev.jsonl", "w", encoding="utf-8") as fh:
        for q in queries:
            fh.write(json.dumps(q, ensure_ascii=False) + "\n")
    with open(folder / "qrels.dev.tsv", "w", encoding="utf-8") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for row in qrels:
            fh.write("\t".join(map(str, row)) + "\n")
    return folder


def test_folds_are_stable_and_balanced():
    assert adapt.fold_of("tt-ipc", "A01B", 5) == adapt.fold_of("tt-ipc", "A01B", 5)
    counts = Counter(adapt.fold_of("b", f"q{i}", 3) for i in range(900))
    assert set(counts) == {0, 1, 2} and min(counts.values()) > 250
    assert adapt.parse_fold("2/5") == (1, 5) and adapt.parse_fold(None) is None
    for bad in ("0/3", "4/3", "1/1", "x"):
        with pytest.raises(ValueError):
            adapt.parse_fold(bad)


def test_bench_pairs_leave_the_held_out_fold_out(tmp_path):
    queries = [{"_id": f"q{i}", "text": f"需求{i}"} for i in range(30)]
    corpus = {f"d{i}": f"成果{i}" for i in range(30)} | {"bad": "无关"}
    qrels = [(f"q{i}", f"d{i}", 2) for i in range(30)] + [("q0", "bad", 0)]
    folder = write_bench(tmp_path / "tt-x", queries, corpus, qrels)
    pairs, used = adapt.bench_pairs(folder, (0, 3), 4, random.Random(1))
    held = {q["_id"] for q in queries if adapt.fold_of("tt-x", q["_id"], 3) == 0}
    assert held and not (held & used) and len(used) == 30 - len(held)
    assert {p.query for p in pairs}.isdisjoint({f"需求{q[1:]}" for q in held})
    everything, _ = adapt.bench_pairs(folder, None, 4, random.Random(1))
    q0 = next(p for p in everything if p.query == "需求0")
    assert q0.positive == "成果0" and q0.negative == "无关"  # judged 0: the hard negative


def test_a_keyword_lists_own_paper_comes_first_and_same_field_alone_is_not_enough(tmp_path):
    queries = [
        {"_id": "k1", "text": "锂电池、热失控", "exclude": ["own"]},
        {"_id": "k2", "text": "水稻、育种", "exclude": []},
    ]
    corpus = {"own": "锂电池热失控研究", "near": "电池管理", "field": "材料学论文"}
    qrels = [("k1", "near", 2), ("k1", "field", 1), ("k2", "field", 1)]
    folder = write_bench(tmp_path / "tt-kw", queries, corpus, qrels)
    pairs, used = adapt.bench_pairs(folder, None, 4, random.Random(0))
    k1 = [p.positive for p in pairs if p.query == "锂电池、热失控"]
    assert k1 == ["锂电池热失控研究", "电池管理"]
    assert used == {"k1", "k2"}  # k2 has no own paper: its grade-1 answer stands


def test_taxonomy_pairs_never_use_subclass_definitions(tmp_path):
    ipc = tmp_path / "ipc.tsv"
    ipc.write_text(
        "code\tlevel\tparent\ttitle_zh\tnotes_zh\n"
        "A01B\tsubclass\tA01\t农业或林业的整地\t\n"
        "A01B1/00\tmain_group\tA01B\t手动工具（入A01C5/00）\t\n"
        "A01B1/02\tsubgroup\tA01B1/00\t锹；铲子类工具\t\n",
        encoding="utf-8",
    )
    gbt = tmp_path / "gbt.tsv"
    gbt.write_text(
        "code\tlevel\tsection\tdivision\tgroup\tname\tremark\n"
        "011\t3\tA\t01\t011\t谷物种植\t指以收获籽实为主的农作物的种植活动\n",
        encoding="utf-8",
    )
    pairs = adapt.taxonomy_pairs(ipc, gbt, 10, random.Random(0))
    texts = {p.query for p in pairs} | {p.positive for p in pairs}
    assert "农业或林业的整地" not in texts
    assert ("手动工具", "锹；铲子类工具") in {(p.query, p.positive) for p in pairs}
    assert any(p.source == "gbt4754" for p in pairs)


def test_batches_never_put_one_query_twice():
    pairs = [adapt.Pair(f"q{i % 5}", f"d{i}", None, "t", f"g{i % 5}") for i in range(40)]
    seen = list(adapt.batches(pairs, 4, 12, seed=3))
    assert len(seen) == 12
    for batch in seen:
        assert len({p.group for p in batch}) == len(batch) == 4


def test_recipe_version_changes_with_what_shapes_the_weights():
    a = adapt.Recipe(base_checksum="x")
    assert a.version() == adapt.Recipe(base_checksum="x").version()
    assert a.version() != adapt.Recipe(base_checksum="x", holdout="1/3").version()
    assert a.version() != adapt.Recipe(base_checksum="x", data={"tt-ipc": {"pairs": 3}}).version()


# -- a real LoRA run on a tiny model ----------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A 2-layer BERT over a character vocabulary, in the offline model's folder layout."""
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import WordLevel
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny") / "base"
    chars = sorted(
        set("需求成果锂电池热失控预警中药提取风电巡检无人机储能方法系统query:passage ，。")
    )
    vocab = {tok: i for i, tok in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *chars])}
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]"
    )
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    # the sentence-transformers layout the offline model uses: transformer at the root, mean pool
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    (folder / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    (folder / "sentence_bert_config.json").write_text('{"max_seq_length": 64}', encoding="utf-8")
    (folder / "1_Pooling").mkdir()
    pooling = {"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling), encoding="utf-8")
    return folder


def tiny_pairs() -> list[adapt.Pair]:
    return [
        adapt.Pair("锂电池热失控预警", "储能锂电池热失控预警方法", "中药提取", "t", "a"),
        adapt.Pair("风电无人机巡检", "无人机巡检风电系统", None, "t", "b"),
        adapt.Pair("中药提取", "中药提取方法", "风电巡检", "t", "c"),
        adapt.Pair("储能系统", "储能电池系统", None, "t", "d"),
    ]


def test_training_writes_a_loadable_versioned_model_and_the_adapter_replays(tiny_model, tmp_path):
    from sentence_transformers import SentenceTransformer

    recipe = adapt.Recipe(base_checksum="tiny", steps=3, batch_size=4, max_tokens=32)
    losses = []
    model = adapt.train(tiny_model, tiny_pairs(), recipe, lambda s, n, loss: losses.append(loss))
    assert len(losses) == 3 and all(np.isfinite(losses))
    out = adapt.write_model(tiny_model, model, recipe, tmp_path / "adapted")
    meta = adapt.read_recipe(out)
    assert meta["version"] == recipe.version() and len(meta["checksum"]) == 64
    assert (out / "checksum.sha256").read_text().split()[0] == meta["checksum"]
    assert (out / adapt.ADAPTER_FILE).stat().st_size < 200_000
    assert not (tmp_path / "adapted.tmp").exists()
    texts = ["锂电池热失控预警", "中药提取"]
    trained = SentenceTransformer(str(out), device="cpu").encode(texts)
    base = SentenceTransformer(str(tiny_model), device="cpu").encode(texts)
    assert not np.allclose(trained, base)  # the weights moved
    replayed = adapt.apply_adapter(tiny_model, out / adapt.ADAPTER_FILE, recipe, tmp_path / "r")
    again = SentenceTransformer(str(replayed), device="cpu").encode(texts)
    assert np.allclose(again, trained, atol=1e-2)  # fp16 adapter: same model, within rounding


def test_training_refuses_an_empty_data_set(tiny_model):
    with pytest.raises(ValueError, match="at least two"):
        adapt.train(tiny_model, tiny_pairs()[:1], adapt.Recipe(base_checksum="t", steps=1))


@pytest.mark.model
def test_adapting_the_bundled_model_end_to_end(offline_model_dir, tmp_path):
    """The product command's path on the real multilingual-e5-small: pairs from a dev split,
    one training step, a loadable versioned model whose recipe names what it saw."""
    from market.search.embedders import SentenceTransformerEmbedder

    queries = [{"_id": f"q{i}", "text": f"储能锂电池热失控预警需求{i}"} for i in range(6)]
    corpus = {f"d{i}": f"一种储能电站锂电池热失控预警方法{i}" for i in range(6)}
    folder = write_bench(
        tmp_path / "tt-mini", queries, corpus, [(f"q{i}", f"d{i}", 2) for i in range(6)]
    )
    report = adapt.adapt_encoder(
        offline_model_dir.parent,
        [folder],
        None,
        {"steps": 1, "batch_size": 4, "max_tokens": 32, "holdout": "1/3"},
        out_dir=tmp_path / "adapted",
        with_decisions=False,
    )
    held = sum(adapt.fold_of("tt-mini", q["_id"], 3) == 0 for q in queries)
    assert report["data"]["tt-mini"]["queries"] == 6 - held
    assert report["adapter_bytes"] < 5_000_000 and report["holdout"] == "1/3"
    model = SentenceTransformerEmbedder(report["model_dir"], checksum=report["checksum"])
    vectors = model.encode(["锂电池热失控预警"], kind="query")
    assert vectors.shape == (1, 384) and abs(float((vectors**2).sum()) - 1.0) < 1e-4
