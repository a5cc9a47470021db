"""``flask --app market bench …``: quality and speed measured through the product's own code.

Every command prints JSON. Quality runs load a BEIR folder into a throwaway database and index
(never the app's own), post each query as a demand, and rank outcomes with the matching service.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from pathlib import Path

import click
import numpy as np
from flask import Flask, current_app
from sqlalchemy import insert, select

log = logging.getLogger(__name__)

MODES = ("bm25", "dense", "hybrid", "hybrid+features")


def register(app: Flask) -> None:
    @app.cli.group("bench")
    def bench() -> None:
        """基准测试（结果以 JSON 输出）。"""

    @bench.command("quality")
    @click.option(
        "--bench-dir",
        type=click.Path(exists=True, file_okay=False),
        default=None,
        help="BEIR folder with corpus.jsonl, queries.dev.jsonl, qrels.dev.tsv",
    )
    @click.option("--corpus", type=click.Path(exists=True, dir_okay=False), default=None)
    @click.option("--queries", type=click.Path(exists=True, dir_okay=False), default=None)
    @click.option("--qrels", type=click.Path(exists=True, dir_okay=False), default=None)
    @click.option(
        "--embedder",
        "embedders",
        multiple=True,
        help="embedding model key(s); default: the configured one",
    )
    @click.option("--modes", default=",".join(MODES), show_default=True)
    @click.option("--max-queries", type=int, default=None)
    def quality(bench_dir, corpus, queries, qrels, embedders, modes, max_queries) -> None:
        """检索质量：BM25 / 稠密 / 混合 / 混合+特征，nDCG@10、Recall、MRR。"""
        paths = _beir_paths(bench_dir, corpus, queries, qrels)
        keys = list(embedders) or [current_app.config["EMBEDDING_MODEL"]]
        rows = []
        for key in keys:
            rows.extend(run_quality(paths, key, modes.split(","), max_queries))
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))


def _beir_paths(bench_dir, corpus, queries, qrels) -> dict[str, Path]:
    if bench_dir:
        root = Path(bench_dir)
        corpus = corpus or root / "corpus.jsonl"
        queries = queries or root / "queries.dev.jsonl"
        qrels = qrels or root / "qrels.dev.tsv"
    if not (corpus and queries and qrels):
        raise click.UsageError("give --bench-dir or all of --corpus/--queries/--qrels")
    return {"corpus": Path(corpus), "queries": Path(queries), "qrels": Path(qrels)}


def run_quality(
    paths: dict[str, Path], embedder_key: str, modes: list[str], max_queries: int | None = None
) -> list[dict]:
    """Rank every query through the matching service in a throwaway app; one row per mode."""
    from market import create_app
    from market.search.evaluation import evaluate, load_beir_files

    data = load_beir_files(paths["corpus"], paths["queries"], paths["qrels"])
    qids = sorted(q for q in data.queries if q in data.qrels)[:max_queries]
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
                "MATCH_WEIGHTS": source.config.get("MATCH_WEIGHTS"),
            }
        )
        with app.app_context():
            outcome_of, timings = _load_catalogue(app, data, paths["corpus"])
            doc_of = {v: k for k, v in outcome_of.items()}
            rows = []
            for mode in modes:
                run, seconds = _rank_all(data, qids, mode, outcome_of, doc_of)
                metrics = evaluate(run, data.qrels, excludes=data.excludes, qids=qids)
                rows.append(
                    {
                        "bench": paths["corpus"].parent.name,
                        "embedder": embedder_key,
                        "mode": mode,
                        **{k: round(v, 4) for k, v in metrics.items()},
                        "queries": len(qids),
                        "queries_per_s": round(len(qids) / seconds, 1),
                        **timings,
                    }
                )
            _dispose(app)
    return rows


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


def _cache_file(corpus_path: Path) -> Path:
    from market.services import indexing

    digest = hashlib.sha256(corpus_path.read_bytes()).hexdigest()[:16]
    model = indexing.model_key(indexing.embedder()).replace("/", "_").replace("@", "-")
    folder = Path(current_app.config["MODEL_DIR"]).parent / "bench-cache"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{corpus_path.parent.name}-{digest}-{model}.npz"


def _restore_vectors(corpus_path: Path, outcome_of: dict[str, int]) -> int:
    from market.services import indexing
    from models import ListingVector, Outcome, db

    path = _cache_file(corpus_path)
    if not path.exists():
        return 0
    stored = np.load(path)
    keys, vectors = stored["keys"], stored["vectors"]
    hashes = dict(db.session.execute(select(Outcome.key, Outcome.content_hash)).all())
    model = indexing.model_key(indexing.embedder())
    db.session.execute(
        insert(ListingVector.__table__),
        [
            {
                "kind": "outcome",
                "listing_id": outcome_of[str(k)],
                "model": model,
                "content_hash": hashes[str(k)],
                "vector": v.astype(np.float32).tobytes(),
            }
            for k, v in zip(keys, vectors, strict=True)
            if str(k) in outcome_of
        ],
    )
    db.session.commit()
    return len(keys)


def _save_vectors(corpus_path: Path, outcome_of: dict[str, int]) -> None:
    from models import ListingVector, db

    path = _cache_file(corpus_path)
    if path.exists():
        return
    key_of = {v: k for k, v in outcome_of.items()}
    rows = db.session.execute(
        select(ListingVector.listing_id, ListingVector.vector).where(
            ListingVector.kind == "outcome"
        )
    ).all()
    keys = np.array([key_of[i] for i, _ in rows])
    vectors = np.vstack([np.frombuffer(v, dtype=np.float32) for _, v in rows])
    np.savez(path, keys=keys, vectors=vectors)


def _rank_all(data, qids, mode, outcome_of, doc_of) -> tuple[dict[str, list[str]], float]:
    from market.services import matching
    from market.services.listings import post_demand
    from models import Demand, Organization, db

    org = db.session.scalar(select(Organization))
    run = {}
    started = time.perf_counter()
    for qid in qids:
        demand = db.session.scalar(select(Demand).where(Demand.key == qid))
        if demand is None:
            text = data.queries[qid]
            demand = post_demand(
                org, {"title": text[:200], "description": text, "scenario_type": "industry"}
            )
            demand.key = qid
            db.session.flush()
        exclude = {outcome_of[d] for d in data.excludes.get(qid, ()) if d in outcome_of}
        ranked = matching.outcomes_for_demand(
            demand, k=100, mode=mode, explain=False, exclude=exclude
        )
        run[qid] = [doc_of[c.listing_id] for c in ranked]
    db.session.commit()
    return run, time.perf_counter() - started


def _dispose(app) -> None:
    from models import db

    db.session.remove()
    db.engine.dispose()
