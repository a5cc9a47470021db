"""The throwaway app a quality benchmark runs in: one BEIR corpus loaded as outcome listings and
indexed like the product, each query posted as a demand (``bench quality|tune|relevance`` …)."""

from __future__ import annotations

import hashlib
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np
from flask import current_app
from sqlalchemy import insert, select


def beir_paths(bench_dir, corpus, queries, qrels) -> dict[str, Path]:
    if bench_dir:
        root = Path(bench_dir)
        corpus = corpus or root / "corpus.jsonl"
        queries = queries or root / "queries.dev.jsonl"
        qrels = qrels or root / "qrels.dev.tsv"
    if not (corpus and queries and qrels):
        raise click.UsageError("give --bench-dir or all of --corpus/--queries/--qrels")
    return {"corpus": Path(corpus), "queries": Path(queries), "qrels": Path(qrels)}


def matching_settings(config) -> dict[str, Any]:
    """The host app's matching settings (``MATCH_*``: weights, neighbour and IPC settings, as
    set in its config or by ``MARKET_MATCH_…`` variables), which a throwaway bench app keeps."""
    return {key: value for key, value in config.items() if key.startswith("MATCH_")}


@contextmanager
def bench_app(
    paths: dict[str, Path],
    embedder_key: str,
    max_queries: int | None = None,
    fold: tuple[int, int] | None = None,
    all_queries: bool = False,
):
    """A throwaway app holding one BEIR corpus as outcome listings, indexed like the product.

    With ``fold`` only that fold's queries are ranked (cross-validation of adapted models);
    with ``all_queries`` the unjudged ones too (demands with no answer in the catalogue)."""
    from market import create_app
    from market.search.adapt import in_fold
    from market.search.evaluation import load_beir_files

    data = load_beir_files(paths["corpus"], paths["queries"], paths["qrels"])
    name = paths["corpus"].parent.name
    qids = sorted(
        q for q in data.queries if (all_queries or q in data.qrels) and in_fold(name, q, fold)
    )
    qids = qids[:max_queries]
    source = current_app
    with tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'bench.db'}",
                "INDEX_DIR": str(Path(tmp) / "index"),
                "MODEL_DIR": source.config["MODEL_DIR"],
                "EMBEDDING_MODEL": embedder_key,
                **matching_settings(source.config),
            }
        )
        with app.app_context():
            outcome_of, timings = _load_catalogue(app, data, paths["corpus"])
            yield BenchRun(data, qids, outcome_of, {v: k for k, v in outcome_of.items()}, timings)
            dispose(app)


@dataclass
class BenchRun:
    data: Any
    qids: list[str]
    outcome_of: dict[str, int]
    doc_of: dict[int, str]
    timings: dict


def _load_catalogue(app, data, corpus_path: Path) -> tuple[dict[str, int], dict]:
    """Corpus documents become outcome listings; vectors come from a cache when possible."""
    from market.services import indexing
    from models import Organization, Outcome, content_hash, db

    db.create_all()
    org = Organization(name="基准测试机构", kind="university", approved=True)
    db.session.add(org)
    db.session.flush()
    rows = []
    for doc_id, doc in data.corpus.items():
        title = (doc.get("title") or doc.get("text") or "")[:200] or doc_id
        abstract = doc.get("text") if doc.get("title") else None
        rows.append(
            {
                "key": doc_id,
                "organization_id": org.id,
                "title": title,
                "abstract": abstract,
                "status": "published",
                "is_demo": False,
                "content_hash": content_hash(title, abstract),
                "indicators": [],
                "transfer_modes": [],
                "suggested_ipc": [],
                "fiscal_funded": False,
                "use_first_eligible": False,
                "implemented": False,
            }
        )
    db.session.execute(insert(Outcome.__table__), rows)
    db.session.commit()
    outcome_of = dict(db.session.execute(select(Outcome.key, Outcome.id)).all())
    started = time.perf_counter()
    cached = _restore_vectors(corpus_path, outcome_of)
    indexing.reconcile()
    db.session.commit()
    _save_vectors(corpus_path, outcome_of)
    return outcome_of, {
        "index_seconds": round(time.perf_counter() - started, 1),
        "vectors_from_cache": cached,
    }


def _cache_file() -> Path:
    """One vector cache per model build, keyed by listing content hash: the benchmarks that
    share documents (tt-demand's corpus is tt-ipc's and tt-csl's) embed each text once."""
    from market.services import indexing

    model = indexing.model_key(indexing.embedder())
    digest = hashlib.sha256(model.encode()).hexdigest()[:16]
    folder = Path(current_app.config["MODEL_DIR"]).parent / "bench-cache"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"vectors-{digest}.npz"


def _cached_vectors() -> dict[str, np.ndarray]:
    path = _cache_file()
    if not path.exists():
        return {}
    stored = np.load(path)
    return dict(zip(stored["hashes"].tolist(), stored["vectors"], strict=True))


def _restore_vectors(corpus_path: Path, outcome_of: dict[str, int]) -> int:
    from market.services import indexing
    from models import ListingVector, Outcome, db

    cached = _cached_vectors()
    if not cached:
        return 0
    model = indexing.model_key(indexing.embedder())
    rows = [
        {
            "kind": "outcome",
            "listing_id": listing_id,
            "model": model,
            "content_hash": digest,
            "vector": cached[digest].astype(np.float32).tobytes(),
        }
        for listing_id, digest in db.session.execute(select(Outcome.id, Outcome.content_hash))
        if digest in cached
    ]
    if rows:
        db.session.execute(insert(ListingVector.__table__), rows)
        db.session.commit()
    return len(rows)


def _save_vectors(corpus_path: Path, outcome_of: dict[str, int]) -> None:
    from models import ListingVector, db

    cached = _cached_vectors()
    rows = db.session.execute(
        select(ListingVector.content_hash, ListingVector.vector).where(
            ListingVector.kind == "outcome"
        )
    ).all()
    fresh = {h: np.frombuffer(v, dtype=np.float32) for h, v in rows if h not in cached}
    if not fresh:
        return
    cached.update(fresh)
    hashes = np.array(list(cached))
    vectors = np.vstack(list(cached.values())).astype(np.float32)
    tmp = _cache_file().with_suffix(".tmp.npz")
    np.savez(tmp, hashes=hashes, vectors=vectors)
    tmp.replace(_cache_file())


def demand_for(data, qid: str):
    from market.services.listings import post_demand
    from models import Demand, Organization, db

    demand = db.session.scalar(select(Demand).where(Demand.key == qid))
    if demand is None:
        text = data.queries[qid]
        org = db.session.scalar(select(Organization))
        demand = post_demand(
            org, {"title": text[:200], "description": text, "scenario_type": "industry"}
        )
        demand.key = qid
        db.session.flush()
    return demand


def dispose(app) -> None:
    from models import db

    db.session.remove()
    db.engine.dispose()
