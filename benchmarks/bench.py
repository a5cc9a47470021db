"""``flask --app market bench …``: quality and speed measured through the product's own code.

The ``bench`` group reaches Flask's CLI through the ``flask.commands`` entry point in
pyproject.toml, so the app never imports this package. Every command prints JSON. Quality runs
load a BEIR folder into a throwaway database and index (never the app's own; ``harness``), post
each query as a demand, and rank outcomes with the matching service.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import numpy as np
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import insert, select

from . import bundles, reliability
from .harness import BenchRun, beir_paths, bench_app, demand_for, dispose, matching_settings

log = logging.getLogger(__name__)

MODES = ("bm25", "dense", "hybrid", "hybrid+features")


@click.group("bench", cls=AppGroup)
def bench() -> None:
    """基准测试（结果以 JSON 输出）。"""


def register(bench: click.Group) -> None:
    """Add the quality and speed commands to the ``bench`` group."""

    bench_dirs_option = click.option(
        "--bench-dir",
        "bench_dirs",
        multiple=True,
        required=True,
        type=click.Path(exists=True, file_okay=False),
        help="BEIR folder(s), dev split only",
    )

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
    @click.option(
        "--fold",
        default=None,
        help="only the queries of fold i/k (as `embedder adapt --holdout i/k` leaves them out)",
    )
    def quality(bench_dir, corpus, queries, qrels, embedders, modes, max_queries, fold) -> None:
        """检索质量：BM25 / 稠密 / 混合 / 混合+特征，nDCG@10、Recall、MRR。"""
        from market.search.adapt import parse_fold

        paths = beir_paths(bench_dir, corpus, queries, qrels)
        keys = list(embedders) or [current_app.config["EMBEDDING_MODEL"]]
        rows = []
        for key in keys:
            rows.extend(run_quality(paths, key, modes.split(","), max_queries, parse_fold(fold)))
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))

    @bench.command("index")
    @click.option(
        "--vectors", "sizes", type=int, multiple=True, default=(100_000,), show_default=True
    )
    @click.option("--dim", type=int, default=384, show_default=True)
    def index(sizes, dim) -> None:
        """FAISS 索引：构建时间、内存、单次查询 p50/p95、相对精确检索的 recall@10。"""
        from .embed_index import bench_index

        click.echo(json.dumps([bench_index(n, dim) for n in sizes], indent=1))

    @bench.command("embed")
    @click.option("--texts", "count", type=int, default=200, show_default=True)
    @click.option("--embedder", "embedders", multiple=True)
    def embed(count, embedders) -> None:
        """嵌入吞吐：完整入库路径（数据库→任务→索引）与裸 encode 对比。"""
        keys = list(embedders) or [current_app.config["EMBEDDING_MODEL"]]
        click.echo(
            json.dumps([bench_ingest(key, count) for key in keys], indent=1, ensure_ascii=False)
        )

    @bench.command("match")
    @click.option("--outcomes", "n_outcomes", type=int, default=100_000, show_default=True)
    @click.option("--demands", "n_demands", type=int, default=1000, show_default=True)
    @click.option("--queries", "n_queries", type=int, default=200, show_default=True)
    def match(n_outcomes, n_demands, n_queries) -> None:
        """匹配速度：需求→前10推荐（含解释）、自由文本搜索、批量推荐，与纯 FAISS 检索对比。"""
        click.echo(
            json.dumps(bench_match(n_outcomes, n_demands, n_queries), indent=1, ensure_ascii=False)
        )

    @bench.command("retrieval")
    @bench_dirs_option
    @click.option("--neighbor-weight", "neighbor_weights", multiple=True, type=float)
    @click.option("--rounds", "rounds", multiple=True, type=int)
    @click.option("--ipc-gain", "ipc_gains", multiple=True, type=float)
    @click.option("--ipc-pool", "ipc_pools", multiple=True, type=int)
    @click.option("--ipc-pool-from", "ipc_pool_froms", multiple=True, type=float)
    @click.option("--embedder", default=None)
    @click.option("--max-queries", type=int, default=None)
    def retrieval(
        bench_dirs,
        neighbor_weights,
        rounds,
        ipc_gains,
        ipc_pools,
        ipc_pool_froms,
        embedder,
        max_queries,
    ) -> None:
        """混合检索参数网格（邻近扩散权重 × 轮数 × IPC 画像增益 × IPC 全库候选），只用 dev 划分。"""
        from market.services import matching

        key = embedder or current_app.config["EMBEDDING_MODEL"]
        grid = [
            {
                "neighbor_weight": lam,
                "rounds": n,
                "ipc_gain": gain,
                "ipc_pool": pool,
                "ipc_pool_from": start,
            }
            for lam in (neighbor_weights or (1.0, matching.NEIGHBOR_WEIGHT))
            for n in (rounds or (1, matching.NEIGHBOR_ROUNDS))
            for gain in (ipc_gains or (0.0, matching.IPC_GAIN))
            for pool in (ipc_pools or (0, matching.IPC_POOL))
            for start in (ipc_pool_froms or (matching.IPC_POOL_FROM,))
        ]
        rows = []
        for d in bench_dirs:
            rows.extend(run_retrieval_grid(beir_paths(d, None, None, None), key, grid, max_queries))
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))

    @bench.command("adapt-cv")
    @bench_dirs_option
    @click.option("--folds", type=int, default=3, show_default=True)
    @click.option("--steps", type=int, default=None, help="training steps per fold")
    @click.option("--modes", default=",".join(MODES), show_default=True)
    @click.option("--only-fold", type=int, default=None, help="run this fold (1-based) only")
    def adapt_cv(bench_dirs, folds, steps, modes, only_fold) -> None:
        """自适应编码器的 k 折交叉验证：每折留出查询、训练、只在留出查询上评测。"""
        rows = run_adapt_cv(
            [Path(d) for d in bench_dirs], folds, steps, modes.split(","), only_fold
        )
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))

    @bench.command("relevance")
    @bench_dirs_option
    @click.option("--embedder", default=None, help="embedding model key; default: configured")
    @click.option(
        "--fold-embedder",
        "fold_embedders",
        multiple=True,
        help="k models, the i-th trained without fold i/k (`embedder adapt --holdout i/k`): "
        "each fold's queries get its own model's signals, so none was trained on them",
    )
    @click.option("--folds", type=int, default=5, show_default=True)
    @click.option("--write", is_flag=True, help="fit the shipped model and save it")
    @click.option("--name", default=None, help="save under this embedder name")
    def relevance(bench_dirs, embedder, fold_embedders, folds, write, name) -> None:
        """相关性模型：在开发集上交叉验证（按查询分折）、校准、无匹配判断；--write 保存模型。"""
        from market.search.embedders import get_embedder
        from market.search.relevance import model_path, save_model

        from . import relevance_fit

        key = embedder or current_app.config["EMBEDDING_MODEL"]
        pools = []
        for d in bench_dirs:
            paths = beir_paths(d, None, None, None)
            if fold_embedders:
                folds = len(fold_embedders)
                for i, fold_key in enumerate(fold_embedders):
                    pools += relevance_fit.collect(paths, fold_key, fold=(i, folds))
            else:
                pools += relevance_fit.collect(paths, key)
        rows, realistic = relevance_fit.cross_validate(pools, folds)
        report = {"rows": rows, "realistic": realistic, "embedder": key}
        if fold_embedders:
            report["fold_embedders"] = list(fold_embedders)
        if write:
            name = name or get_embedder(key, current_app.config["MODEL_DIR"]).name
            about = {
                "trained_on": sorted({p.bench for p in pools}),
                "queries": len(pools),
                "folds": folds,
                "signals_from": list(fold_embedders) or [key],
                "cv": rows,
                "realistic_cv": realistic,
            }
            model = relevance_fit.fit_shipped(pools, folds, name, about)
            report["saved_to"] = str(save_model(model, model_path(name)))
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))

    @bench.command("tune")
    @bench_dirs_option
    @click.option("--embedder", default=None)
    @click.option("--max-queries", type=int, default=None)
    def tune(bench_dirs, embedder, max_queries) -> None:
        """在开发集上调整评分权重（坐标上升，只用 dev 划分）。"""
        key = embedder or current_app.config["EMBEDDING_MODEL"]
        collected = [
            collect_features(beir_paths(d, None, None, None), key, max_queries) for d in bench_dirs
        ]
        click.echo(json.dumps(tune_weights(collected), ensure_ascii=False, indent=1))

    @bench.command("learn")
    @click.option(
        "--bench-dir",
        type=click.Path(exists=True, file_okay=False),
        multiple=True,
        help="BEIR dev folder(s) to compare the weights on, before and after",
    )
    @click.option("--save", is_flag=True, help="把新权重写入 instance/match_weights.json")
    def learn(bench_dir: tuple[str, ...], save: bool) -> None:
        """用经纪人的接受/拒绝决策拟合评分权重，并在开发集上对比前后效果。"""
        from market.services.learning import fit_weights, save_weights
        from market.services.matching import weights

        config = current_app.config
        before = weights()
        report = fit_weights(before)
        comparison = []
        for folder in bench_dir:
            paths = beir_paths(folder, None, None, None)
            for label, w in (("before", before), ("after", report["weights"])):
                config["MATCH_WEIGHTS"] = w
                for row in run_quality(paths, config["EMBEDDING_MODEL"], [MODES[-1]]):
                    comparison.append({"weights": label, **row})
            config["MATCH_WEIGHTS"] = before
        report["comparison"] = comparison
        if save:
            report["saved_to"] = str(save_weights(current_app.instance_path, report["weights"]))
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))


def run_quality(
    paths: dict[str, Path],
    embedder_key: str,
    modes: list[str],
    max_queries: int | None = None,
    fold: tuple[int, int] | None = None,
) -> list[dict]:
    """Rank every query through the matching service in a throwaway app; one row per mode."""
    rows = []
    with bench_app(paths, embedder_key, max_queries, fold) as run_:
        from market.services.matching import relevance_model

        model = relevance_model()
        seen = model is not None and paths["corpus"].parent.name in model.about.get(
            "trained_on", ()
        )
        for mode in modes:
            metrics, seconds = _measure(run_, mode)
            if mode == "hybrid+features" and seen:
                # the relevance model was fit on these dev queries: `bench relevance` gives the
                # cross-validated row; this one is in-sample
                metrics["in_sample"] = True
            rows.append(
                {
                    "bench": paths["corpus"].parent.name,
                    "embedder": embedder_key,
                    "mode": mode,
                    **({"fold": f"{fold[0] + 1}/{fold[1]}"} if fold else {}),
                    **metrics,
                    "queries": len(run_.qids),
                    "queries_per_s": round(len(run_.qids) / seconds, 1),
                    **run_.timings,
                }
            )
    return rows


def _measure(run_: BenchRun, mode: str) -> tuple[dict, float]:
    """Metrics (rounded) of one retrieval mode over the bench's queries, and the seconds taken."""
    from market.search.evaluation import evaluate

    run, seconds = _rank_all(run_.data, run_.qids, mode, run_.outcome_of, run_.doc_of)
    metrics = evaluate(run, run_.data.qrels, excludes=run_.data.excludes, qids=run_.qids)
    return {k: round(v, 4) for k, v in metrics.items()}, seconds


GRID_SETTINGS = {
    "neighbor_weight": "MATCH_NEIGHBOR_WEIGHT",
    "rounds": "MATCH_NEIGHBOR_ROUNDS",
    "ipc_gain": "MATCH_IPC_GAIN",
    "ipc_pool": "MATCH_IPC_POOL",
    "ipc_pool_from": "MATCH_IPC_POOL_FROM",
}


def run_adapt_cv(
    bench_dirs: list[Path],
    folds: int,
    steps: int | None,
    modes: list[str],
    only_fold: int | None = None,
) -> list[dict]:
    """k-fold cross-validation of ``embedder adapt``: fold i's model never saw fold i's queries
    of any dev split; each bench's rows for the base and the adapted model are measured on the
    held-out queries only, then pooled over folds (query-weighted)."""
    from market.search.adapt import adapt_encoder

    seed_data = Path(current_app.root_path).parent / "seed_data"
    taxonomy = (seed_data / "ipc_zh_2026_01.tsv", seed_data / "gbt4754_2017_with_notes.tsv")
    base = current_app.config["EMBEDDING_MODEL"]
    per_fold: list[dict] = []
    for i in range(folds):
        if only_fold and i + 1 != only_fold:
            continue
        holdout = f"{i + 1}/{folds}"
        overrides = {"holdout": holdout, **({"steps": steps} if steps else {})}
        out = Path(current_app.config["MODEL_DIR"]) / f"cv-{holdout.replace('/', 'of')}"
        report = adapt_encoder(
            Path(current_app.config["MODEL_DIR"]), bench_dirs, taxonomy, overrides, out_dir=out
        )
        log.info("fold %s trained: %s", holdout, report)
        for d in bench_dirs:
            paths = beir_paths(d, None, None, None)
            for key, label in ((base, base), (str(out), "offline-e5-tt")):
                for row in run_quality(paths, key, modes, fold=(i, folds)):
                    row = {**row, "embedder": label, "trained_on": report["data"]}
                    click.echo(json.dumps(row, ensure_ascii=False), err=True)
                    per_fold.append(row)
    return per_fold + _pooled(per_fold)


def _pooled(rows: list[dict]) -> list[dict]:
    """Query-weighted means of the per-fold rows, one per (bench, embedder, mode)."""
    metrics = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["bench"], row["embedder"], row["mode"]), []).append(row)
    pooled = []
    for (bench_name, embedder, mode), group in groups.items():
        n = sum(r["queries"] for r in group)
        pooled.append(
            {
                "bench": bench_name,
                "embedder": embedder,
                "mode": mode,
                "cv": f"{len(group)} folds, held-out queries only",
                **{m: round(sum(r[m] * r["queries"] for r in group) / n, 4) for m in metrics},
                "queries": n,
            }
        )
    return pooled


def run_retrieval_grid(
    paths: dict[str, Path],
    embedder_key: str,
    grid: list[dict[str, float]],
    max_queries: int | None = None,
) -> list[dict]:
    """Hybrid retrieval under each setting of the grid (keys of ``GRID_SETTINGS``: neighbour
    weight when the IPC subclass is unclear, diffusion rounds, IPC gain, IPC pool size and the
    IPC weight from which it is used), one corpus load for all."""
    rows = []
    with bench_app(paths, embedder_key, max_queries) as run_:
        config = current_app.config
        saved = {name: config[name] for name in GRID_SETTINGS.values() if name in config}
        for setting in grid:
            for name in GRID_SETTINGS.values():  # what a setting leaves out is the default
                config.pop(name, None)
            config.update(saved)
            config.update({GRID_SETTINGS[k]: v for k, v in setting.items()})
            metrics, _ = _measure(run_, "hybrid")
            rows.append(
                {
                    "bench": paths["corpus"].parent.name,
                    **setting,
                    **metrics,
                    "queries": len(run_.qids),
                }
            )
    return rows


def sample_texts(count: int) -> list[str]:
    """Real ~200-character Chinese abstracts from the demo catalogue."""
    path = Path(__file__).resolve().parent.parent / "seed_data/catalogue/paper_abstracts.jsonl"
    texts = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            text = json.loads(line)["text"]
            if len(text) >= 150:
                texts.append(text[:200])
            if len(texts) == count:
                break
    return texts


def bench_ingest(embedder_key: str, count: int) -> dict:
    """texts/s of raw ``encode`` vs the whole ingest path, same texts, same process."""
    from market import create_app
    from market.services import indexing
    from market.services.listings import post_outcome
    from models import Organization, db

    from .embed_index import bench_raw_encode

    texts = sample_texts(count)
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
            }
        )
        with app.app_context():
            db.create_all()
            emb = indexing.embedder()
            emb.encode(texts[:4])  # load weights outside both timings
            indexing.suggest_ipc("预热")
            raw = bench_raw_encode(emb, texts)
            org = Organization(name="基准测试机构", kind="university", approved=True)
            db.session.add(org)
            started = time.perf_counter()
            for n, text in enumerate(texts):
                post_outcome(org, {"title": f"{n}-{text[:30]}", "abstract": text})
            db.session.commit()
            indexing.reconcile()
            db.session.commit()
            seconds = time.perf_counter() - started
            pipeline = len(texts) / seconds
            dispose(app)
    return {
        "embedder": embedder_key,
        "texts": len(texts),
        "raw": raw,
        "pipeline_texts_per_s": round(pipeline, 2),
        "pipeline_vs_raw": round(pipeline / raw["texts_per_s"], 3),
    }


def _percentiles(samples: list[float]) -> dict:
    ms = np.array(samples) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "n": len(samples),
    }


def _synthetic_catalogue(n_outcomes: int, dim: int) -> dict[str, Any]:
    """n outcome rows with real titles (cycled), synthetic vectors, real BM25 and IPC indexes."""
    from market.search.ipc_index import IpcIndex
    from market.search.lexical import LexicalIndex
    from market.services import indexing
    from market.services.seed import _demo_attributes
    from models import Organization, Outcome, content_hash, db

    from .embed_index import clustered_vectors

    org = Organization(
        name="基准测试机构", kind="university", approved=True, city="深圳市", province="广东省"
    )
    db.session.add(org)
    db.session.flush()
    path = Path(__file__).resolve().parent.parent / "seed_data/catalogue/patent_titles.jsonl"
    with path.open(encoding="utf-8") as fh:
        titles = [json.loads(line)["title"] for line in fh]
    # Each distinct title's IPC profile once (the numbered copies share it).
    profiles = {t: indexing.ipc_profile(t).to_json() for t in titles[:n_outcomes]}
    rows = []
    for n in range(n_outcomes):
        title = f"{titles[n % len(titles)]}（{n}）"
        rows.append(
            {
                "organization_id": org.id,
                "title": title,
                "abstract": None,
                "status": "published",
                "is_demo": True,
                "city": org.city,
                "province": org.province,
                "content_hash": content_hash(title, None),
                "indexed_hash": content_hash(title, None),
                "indicators": [],
                "suggested_ipc": [],
                "ipc_profile": profiles[titles[n % len(titles)]],
                "implemented": False,
                **_demo_attributes(str(n)),
            }
        )
    for start in range(0, len(rows), 20_000):
        db.session.execute(insert(Outcome.__table__), rows[start : start + 20_000])
    db.session.commit()
    ids = np.array(list(db.session.scalars(select(Outcome.id).order_by(Outcome.id))))
    emb = indexing.embedder()
    started = time.perf_counter()
    index = indexing._new_index("outcome")
    vectors = clustered_vectors(len(ids), dim)
    index.add(ids, vectors)
    index.save(indexing.index_dir("outcome"))
    built = time.perf_counter() - started
    started = time.perf_counter()
    _store_vectors_and_neighbors(index, ids, vectors)
    linked = time.perf_counter() - started
    lexical = LexicalIndex().build(ids.tolist(), [r["title"] for r in rows])
    lexical.save(indexing.index_dir("outcome") / "lexical")
    classified = IpcIndex()
    classified.add(ids.tolist(), [r["ipc_profile"]["weights"] for r in rows])
    classified.save(indexing.index_dir("outcome") / "ipc")
    indexing.forget_indexes()
    return {
        "outcomes": len(ids),
        "index_type": index.kind,
        "index_build_s": round(built, 1),
        "neighbors_build_s": round(linked, 1),
        "model": emb.name,
    }


def _store_vectors_and_neighbors(index, ids: np.ndarray, vectors: np.ndarray) -> None:
    """listing_vector rows as the worker writes them: the vector and its nearest listings,
    found by the same index the matcher searches (batched, as a full refresh does), and the
    in-memory graph of those lists saved beside the index."""
    from market.search.neighbors import NeighborGraph
    from market.services import indexing
    from models import ListingVector, Outcome, db
    from models.ops import pack_neighbors

    model = indexing.model_key(indexing.embedder())
    hashes = dict(db.session.execute(select(Outcome.id, Outcome.content_hash)).all())
    graph = NeighborGraph(indexing.NEIGHBORS)
    step = 20_000
    for start in range(0, len(ids), step):
        chunk = [int(i) for i in ids[start : start + step]]
        found = indexing._search_neighbors(
            index, chunk, vectors[start : start + step], indexing.NEIGHBORS
        )
        db.session.execute(
            insert(ListingVector.__table__),
            [
                {
                    "kind": "outcome",
                    "listing_id": i,
                    "model": model,
                    "content_hash": hashes[i],
                    "vector": v.astype(np.float32).tobytes(),
                    "neighbors": pack_neighbors(found[i]),
                }
                for i, v in zip(chunk, vectors[start : start + step], strict=True)
            ],
        )
        db.session.commit()
        indexing.place_neighborhoods(
            graph, index, {i: [n for n, _ in pairs] for i, pairs in found.items()}
        )
    graph.save(indexing.index_dir("outcome") / "neighbors")


def _bench_demands(n_demands: int) -> list:
    """The demo demands, repeated up to n; query vectors stored once per distinct text."""
    from market.services import indexing, matching
    from market.services.listings import post_demand
    from market.services.seed import SEED_DIR, _demand_data
    from models import Demand, ListingVector, Organization, db

    org = db.session.scalar(select(Organization))
    records = json.loads((SEED_DIR / "demands.json").read_text(encoding="utf-8"))
    demands = []
    for n in range(n_demands):
        rec = records[n % len(records)]
        skip = ("province", "city", "industry_code")  # no taxonomy tables in the bench DB
        data = {k: v for k, v in _demand_data(rec).items() if k not in skip}
        data["confidentiality"] = "public"
        data["deadline"] = None
        demands.append(post_demand(org, data))
    db.session.commit()
    model = indexing.model_key(indexing.embedder())
    vectors = {}
    for demand in demands:
        key = demand.content_hash
        if key not in vectors:
            vectors[key] = matching.query_vector("demand", demand)[0]
        else:
            db.session.merge(
                ListingVector(
                    kind="demand:query",
                    listing_id=demand.id,
                    model=model,
                    content_hash=key,
                    vector=vectors[key].tobytes(),
                )
            )
    db.session.commit()
    return list(db.session.scalars(select(Demand).order_by(Demand.id)))


def bench_match(n_outcomes: int, n_demands: int, n_queries: int) -> dict:
    """Speed of the matcher at scale, beside the FAISS search it is built on."""
    from market import create_app
    from market.services import indexing, matching

    source = current_app
    with tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'bench.db'}",
                "INDEX_DIR": str(Path(tmp) / "index"),
                "MODEL_DIR": source.config["MODEL_DIR"],
                "EMBEDDING_MODEL": source.config["EMBEDDING_MODEL"],
                "FLAT_INDEX_LIMIT": source.config["FLAT_INDEX_LIMIT"],
                **matching_settings(source.config),
            }
        )
        with app.app_context():
            from models import db

            db.create_all()
            emb = indexing.embedder()
            report = _synthetic_catalogue(n_outcomes, emb.dim)
            demands = _bench_demands(n_demands)
            sample = [demands[i % len(demands)] for i in range(n_queries)]
            vectors = [matching.query_vector("demand", d) for d in sample]
            index = indexing.get_index("outcome")
            matching.outcomes_for_demand(sample[0])  # warm caches and the IPC suggester
            faiss_only, full = [], []
            for demand, vector in zip(sample, vectors, strict=True):
                t = time.perf_counter()
                index.search(vector, 10)
                faiss_only.append(time.perf_counter() - t)
                t = time.perf_counter()
                matching.outcomes_for_demand(demand, k=10, explain=True)
                full.append(time.perf_counter() - t)
            # The same demands again: their candidates' rows are now in the page cache, as on a
            # server that has been answering for a while (the first pass reads many from disk).
            again = []
            for demand in sample:
                t = time.perf_counter()
                matching.outcomes_for_demand(demand, k=10, explain=True)
                again.append(time.perf_counter() - t)
            texts = [d.title for d in sample[:50]]
            search = []
            for text in texts:
                t = time.perf_counter()
                matching.search_text("outcome", text, k=10)
                search.append(time.perf_counter() - t)
            # One at a time (a demand posted alone), then the worker's batch path, which builds
            # each outcome's facts once per batch. The demands repeat the demo texts, so their
            # candidate sets overlap more than fresh demands' would.
            single = demands[: max(1, len(demands) // 5)]
            t = time.perf_counter()
            for demand in single:
                matching.propose_for_demand(demand.id)
            db.session.commit()
            single_s = time.perf_counter() - t
            t = time.perf_counter()
            matching.refresh_proposals([d.id for d in demands])
            db.session.commit()
            batch_s = time.perf_counter() - t
            report.update(
                {
                    "faiss_only": _percentiles(faiss_only),
                    "demand_to_top10_with_explanations": _percentiles(full),
                    "same_demands_again": _percentiles(again),
                    "free_text_search_with_encoding": _percentiles(search),
                    "p95_ratio_to_faiss_only": round(
                        float(np.percentile(full, 95) / np.percentile(faiss_only, 95)), 1
                    ),
                    "proposals_one_by_one": {
                        "demands": len(single),
                        "per_s": round(len(single) / single_s, 1),
                    },
                    "batch_proposals": {
                        "demands": len(demands),
                        "per_s": round(len(demands) / batch_s, 1),
                    },
                }
            )
            dispose(app)
    return report


def collect_features(paths, embedder_key: str, max_queries: int | None = None) -> dict:
    """Every hybrid candidate's fit features per query, for re-scoring offline."""
    from market.services import matching
    from models import db

    with bench_app(paths, embedder_key, max_queries) as run_:
        per_query = {}
        for qid in run_.qids:
            demand = demand_for(run_.data, qid)
            exclude = {
                run_.outcome_of[d] for d in run_.data.excludes.get(qid, ()) if d in run_.outcome_of
            }
            ranked = matching.outcomes_for_demand(
                demand, k=matching.CANDIDATES, explain=False, exclude=exclude
            )
            per_query[qid] = [(run_.doc_of[c.listing_id], dict(c.features.values)) for c in ranked]
        db.session.commit()
        return {
            "name": paths["corpus"].parent.name,
            "qrels": run_.data.qrels,
            "excludes": run_.data.excludes,
            "qids": run_.qids,
            "candidates": per_query,
        }


GRID = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0)


def _ndcg(collected: dict, weights: dict[str, float]) -> float:
    from market.search.evaluation import evaluate
    from market.search.features import combine

    run = {}
    for qid, cands in collected["candidates"].items():
        scored = sorted(cands, key=lambda c: -combine(c[1], weights))
        run[qid] = [doc for doc, _ in scored]
    return evaluate(
        run, collected["qrels"], excludes=collected["excludes"], qids=collected["qids"]
    )["ndcg@10"]


def tune_weights(collected: list[dict], rounds: int = 2) -> dict:
    """Coordinate ascent over a coarse grid, maximising mean nDCG@10 across the dev sets."""
    from market.services.matching import weights as current_weights

    start = current_weights()
    seen: dict[str, set[float]] = {}
    for c in collected:
        for cands in c["candidates"].values():
            for _, values in cands:
                for n, v in values.items():
                    if v is not None:
                        seen.setdefault(n, set()).add(round(v, 6))
    # A feature the dev sets never vary (先用后转, budget, … on text-only corpora) only moves the
    # weighted mean's denominator there: it keeps its hand-set weight.
    names = sorted(n for n, values in seen.items() if len(values) > 1)

    def objective(w):
        return sum(_ndcg(c, w) for c in collected) / len(collected)

    best, best_score = dict(start), objective(start)
    for _ in range(rounds):
        for name in names:
            for value in GRID:
                trial = {**best, name: value}
                score = objective(trial)
                if score > best_score + 1e-6:
                    best, best_score = trial, score
    return {
        "features_tuned": names,
        "before": {c["name"]: round(_ndcg(c, start), 4) for c in collected},
        "after": {c["name"]: round(_ndcg(c, best), 4) for c in collected},
        "weights": best,
    }


def _rank_all(data, qids, mode, outcome_of, doc_of) -> tuple[dict[str, list[str]], float]:
    from market.services import matching
    from models import db

    run = {}
    started = time.perf_counter()
    for qid in qids:
        demand = demand_for(data, qid)
        exclude = {outcome_of[d] for d in data.excludes.get(qid, ()) if d in outcome_of}
        ranked = matching.outcomes_for_demand(
            demand, k=100, mode=mode, explain=False, exclude=exclude
        )
        run[qid] = [doc_of[c.listing_id] for c in ranked]
    db.session.commit()
    return run, time.perf_counter() - started


register(bench)
reliability.register(bench)
bundles.register(bench)
