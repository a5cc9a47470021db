"""Regression guard on the fixed BEIR sample: the product's hybrid ranking must beat BM25.

Runs the same code as ``flask --app market bench quality`` (corpus loaded as outcome listings
into a throwaway database and index, each query posted as a demand) with the bundled offline
model. A guard against a broken fusion or feature layer, not the benchmark itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.bench import run_quality
from market import create_app

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "beir_sample"
PATHS = {
    "corpus": SAMPLE / "corpus.jsonl",
    "queries": SAMPLE / "queries.dev.jsonl",
    "qrels": SAMPLE / "qrels.dev.tsv",
}


def _bench_host(offline_model_dir, tmp_path_factory):
    """An app whose config the bench's throwaway app copies (model dir, embedder)."""
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "INDEX_DIR": str(tmp_path_factory.mktemp("index")),
            "MODEL_DIR": str(offline_model_dir.parent),
            "EMBEDDING_MODEL": "offline-e5",
        }
    )


@pytest.fixture(scope="module")
def rows(offline_model_dir, tmp_path_factory) -> dict[str, dict]:
    with _bench_host(offline_model_dir, tmp_path_factory).app_context():
        found = run_quality(PATHS, "offline-e5", ["bm25", "dense", "hybrid", "hybrid+features"])
    print({row["mode"]: row["ndcg@10"] for row in found})  # shown with pytest -s
    return {row["mode"]: row for row in found}


@pytest.mark.model
def test_every_mode_ranks_all_sample_queries(rows):
    assert set(rows) == {"bm25", "dense", "hybrid", "hybrid+features"}
    assert all(row["queries"] == 30 for row in rows.values())


@pytest.mark.model
def test_hybrid_beats_bm25_on_the_fixed_sample(rows):
    bm25, hybrid, full = (rows[m]["ndcg@10"] for m in ("bm25", "hybrid", "hybrid+features"))
    assert hybrid > bm25, (bm25, hybrid)
    assert full > bm25, (bm25, full)
    assert rows["hybrid"]["recall@100"] >= rows["bm25"]["recall@100"]


@pytest.mark.model
def test_retrieval_grid_reports_each_setting(offline_model_dir, tmp_path_factory):
    from benchmarks.bench import run_retrieval_grid

    with _bench_host(offline_model_dir, tmp_path_factory).app_context():
        grid = [
            {"neighbor_weight": 0.0, "rounds": 1, "ipc_gain": 0.0, "ipc_pool": 0},
            {"neighbor_weight": 3.0, "rounds": 2, "ipc_gain": 2.0, "ipc_pool": 100},
        ]
        rows = run_retrieval_grid(PATHS, "offline-e5", grid)
    settings = [{k: r[k] for k in grid[0]} for r in rows]
    assert settings == grid
    assert rows[0]["ndcg@10"] != rows[1]["ndcg@10"]  # the settings reach the ranking
    assert all(r["queries"] == 30 and 0 < r["ndcg@10"] <= 1 for r in rows)
