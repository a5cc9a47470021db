"""``bench quality --fold`` and ``bench relevance`` on a small BEIR folder with the hash test
embedder: only the fold's queries are ranked, vectors are embedded once across benchmarks, and
the relevance rows are cross-validated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks import relevance_fit
from benchmarks.bench import run_quality
from market.search.adapt import fold_of

TOPICS = ["锂电池热失控预警", "风电叶片无人机巡检", "中药材提取浓缩", "污水生物脱氮处理"]


def tiny_bench(folder: Path, name: str = "tt-mini") -> dict[str, Path]:
    root = folder / name
    root.mkdir(parents=True)
    docs, queries, qrels = [], [], ["query-id\tcorpus-id\tscore"]
    for t, topic in enumerate(TOPICS):
        for v in range(3):
            docs.append(
                {"_id": f"d{t}{v}", "title": f"{topic}方法{v}", "text": f"{topic}，第{v}种。"}
            )
        for q in range(3):
            queries.append({"_id": f"q{t}{q}", "text": f"需要{topic}技术{q}"})
            qrels += [f"q{t}{q}\td{t}{v}\t2" for v in range(3)]
    queries.append({"_id": "none", "text": "远洋渔船冷链保鲜", "expect_none": True})
    (root / "corpus.jsonl").write_text(
        "\n".join(json.dumps(d, ensure_ascii=False) for d in docs), encoding="utf-8"
    )
    (root / "queries.dev.jsonl").write_text(
        "\n".join(json.dumps(q, ensure_ascii=False) for q in queries), encoding="utf-8"
    )
    (root / "qrels.dev.tsv").write_text("\n".join(qrels) + "\n", encoding="utf-8")
    return {
        "corpus": root / "corpus.jsonl",
        "queries": root / "queries.dev.jsonl",
        "qrels": root / "qrels.dev.tsv",
    }


def test_a_fold_ranks_only_its_own_queries(app, tmp_path):
    paths = tiny_bench(tmp_path)
    every = run_quality(paths, "hash-test", ["bm25"])[0]
    parts = [run_quality(paths, "hash-test", ["bm25"], fold=(i, 3))[0] for i in range(3)]
    assert sum(p["queries"] for p in parts) == every["queries"] == 12
    expected = sum(fold_of("tt-mini", f"q{t}{q}", 3) == 1 for t in range(4) for q in range(3))
    assert parts[1]["queries"] == expected and parts[1]["fold"] == "2/3"
    pooled = sum(p["ndcg@10"] * p["queries"] for p in parts) / every["queries"]
    assert abs(pooled - every["ndcg@10"]) < 1e-3  # folds partition the queries


def test_vectors_are_cached_by_text_across_benchmarks(app, tmp_path):
    first = tiny_bench(tmp_path, "tt-one")
    run_quality(first, "hash-test", ["dense"])
    second = tiny_bench(tmp_path, "tt-two")  # same documents under another benchmark name
    row = run_quality(second, "hash-test", ["dense"])[0]
    assert row["vectors_from_cache"] == 12
    stored = np.load(next(Path(app.config["MODEL_DIR"]).parent.glob("bench-cache/vectors-*")))
    assert len(stored["hashes"]) >= 12 and stored["vectors"].shape[0] == len(stored["hashes"])


def test_relevance_cross_validation_reports_every_bench_and_the_no_match(app, tmp_path):
    paths = tiny_bench(tmp_path, "tt-demand")
    pools = relevance_fit.collect(paths, "hash-test")
    assert len(pools) == 13 and any(p.expect_none for p in pools)
    assert all(set(s) >= {"cosine", "bm25_ratio", "query_length"} for p in pools for s in p.signals)
    rows, realistic = relevance_fit.cross_validate(pools, folds=3)
    modes = {(r["bench"], r["mode"]) for r in rows}
    assert modes == {("tt-demand", "relevance"), ("tt-demand", "hybrid (fused order)")}
    assert realistic["no_match"]["no_answer_demands"] == 1
    assert 0 <= realistic["brier"] <= 1
    model = relevance_fit.fit_shipped(pools, 3, "hash-test", {"queries": len(pools)})
    assert len(model.coef) == len(model.mean) and model.embedder == "hash-test"
