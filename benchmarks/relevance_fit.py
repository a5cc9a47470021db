"""Fitting and cross-validating the relevance model on the dev judgments (``bench relevance``).

For every dev query of each benchmark the product's own hybrid retrieval pools its candidates
(the same code a demand goes through); each candidate's raw signals are kept with its judged
grade. Then, fold by fold (``adapt.fold_of``: the folds ``embedder adapt --holdout`` uses), the
ranking model is fit on the other folds' queries of every benchmark and scores the held-out
ones; the calibration is fit on the other folds' held-out logits of the realistic demands
(tt-demand) and broker decisions only. Every number reported is measured on queries the
models never saw. The shipped model is then fit on all queries.

Targets:
- ranking: soft label (2^grade − 1) / 3 — the nDCG gain, scaled to [0, 1]; each benchmark
  weighs the same in total, whatever its number of queries;
- calibration: "a broker would accept" = judged 2 on tt-demand (the company would want the
  introduction), or a broker's acceptance in the database.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from market.search import relevance as rel
from market.search.adapt import fold_of

log = logging.getLogger(__name__)

REALISTIC = "tt-demand"


@dataclass
class Pool:
    bench: str
    qid: str
    docs: list[str]
    signals: list[dict[str, float]]
    grades: list[int]
    expect_none: bool
    judged: dict[str, int]


def collect(paths: dict[str, Path], embedder_key: str, fold=None) -> list[Pool]:
    """Every dev query's hybrid pool (top 100) with signals and judged grades."""
    from market.services import matching

    from .harness import bench_app, demand_for

    name = paths["corpus"].parent.name
    expect_none = {}
    with open(paths["queries"], encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                q = json.loads(line)
                expect_none[str(q["_id"])] = bool(q.get("expect_none"))
    pools = []
    with bench_app(paths, embedder_key, fold=fold, all_queries=True) as run_:
        for qid in run_.qids:
            demand = demand_for(run_.data, qid)
            exclude = {run_.outcome_of[d] for d in run_.data.excludes.get(qid, ())}
            vector = matching.query_vector("demand", demand)
            profile = matching.query_profile(None, None, demand.embedding_text())
            cands = matching.retrieve(
                "outcome",
                demand.embedding_text(),
                vector,
                "hybrid",
                k=matching.CANDIDATES,
                exclude=exclude,
                profile=profile,
            )
            judged = run_.data.qrels.get(qid, {})
            docs = [run_.doc_of[c.listing_id] for c in cands]
            pools.append(
                Pool(
                    name,
                    qid,
                    docs,
                    [c.signals for c in cands],
                    [judged.get(d, 0) for d in docs],
                    expect_none.get(qid, False),
                    judged,
                )
            )
    return pools


def _arrays(pools: list[Pool]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Design matrix, soft ranking labels, weights (benchmarks equal), acceptance labels."""
    per_bench: dict[str, int] = {}
    for pool in pools:
        per_bench[pool.bench] = per_bench.get(pool.bench, 0) + 1
    xs, ys, ws, accepts = [], [], [], []
    for pool in pools:
        if not pool.docs:
            continue
        xs.append(rel.design(pool.signals))
        grades = np.asarray(pool.grades, dtype=float)
        ys.append((2.0**grades - 1.0) / 3.0)
        ws.append(np.full(len(grades), 1.0 / (per_bench[pool.bench] * len(grades))))
        accepts.append((grades >= 2) & (pool.bench == REALISTIC))
    if not xs:
        raise ValueError("no retrieved candidates to fit on")
    return np.vstack(xs), np.concatenate(ys), np.concatenate(ws), np.concatenate(accepts)


def _fit(pools: list[Pool], calibration: tuple[float, float], about: dict) -> rel.RelevanceModel:
    x, y, w, _ = _arrays(pools)
    mean, scale, coef, intercept = rel.fit_ranker(x, y, w)
    return rel.RelevanceModel(mean, scale, coef, intercept, calibration, about=about)


def _ranked(pool: Pool, p: np.ndarray) -> list[str]:
    order = np.lexsort((np.arange(len(p)), -p))
    return [pool.docs[i] for i in order]


def cross_validate(pools: list[Pool], folds: int = 5) -> tuple[list[dict], dict]:
    """Out-of-fold rows per benchmark (nDCG etc. of the relevance ranking and of today's fused
    order on the same pools), calibration and no-match figures on the realistic demands."""
    from market.search.evaluation import evaluate

    fold = [fold_of(p.bench, p.qid, folds) for p in pools]
    logits: list[np.ndarray | None] = [None] * len(pools)
    for i in range(folds):
        train = [p for p, f in zip(pools, fold, strict=True) if f != i and p.docs]
        model = _fit(train, (1.0, 0.0), {})
        for n, pool in enumerate(pools):
            if fold[n] == i:
                logits[n] = model.logits(rel.design(pool.signals))
    # calibration for fold i from the realistic demands' held-out logits of the other folds
    probs: list[np.ndarray] = []
    for n, pool in enumerate(pools):
        others = [
            (logits[m], np.asarray(pools[m].grades) >= 2)
            for m in range(len(pools))
            if fold[m] != fold[n] and pools[m].bench == REALISTIC and pools[m].docs
        ]
        a, c = rel.fit_calibration(
            np.concatenate([o[0] for o in others]), np.concatenate([o[1] for o in others])
        )
        probs.append(rel._sigmoid(a * logits[n] + c) if len(pool.docs) else np.zeros(0))
    rows = []
    for bench in sorted({p.bench for p in pools}):
        idx = [n for n, p in enumerate(pools) if p.bench == bench]
        qrels = {pools[n].qid: pools[n].judged for n in idx}
        judged = [pools[n].qid for n in idx if any(g > 0 for g in pools[n].judged.values())]
        for mode, run in (
            ("hybrid (fused order)", {pools[n].qid: pools[n].docs for n in idx}),
            ("relevance", {pools[n].qid: _ranked(pools[n], probs[n]) for n in idx}),
        ):
            metrics = evaluate(run, qrels, qids=judged)
            rows.append(
                {
                    "bench": bench,
                    "mode": mode,
                    "cv": f"{folds}-fold by query",
                    **{k: round(v, 4) for k, v in metrics.items()},
                }
            )
    return rows, _realistic_report(pools, probs, folds)


EDGES = tuple(round(0.15 + 0.05 * i, 2) for i in range(6))  # 0.15 … 0.4: below 强匹配's 0.5


def choose_edge(tops: list[tuple[float, bool]]) -> float:
    """The 可能相关 edge that best separates demands with no answer from answerable ones
    (balanced accuracy of "best probability below the edge"; of equally good edges, the middle
    one)."""
    none = [p for p, answerable in tops if not answerable]
    some = [p for p, answerable in tops if answerable]
    if not none or not some:
        return rel.RelevanceModel([], [], [], 0.0).bands["possible"]

    def balanced(edge: float) -> float:
        caught = sum(p < edge for p in none) / len(none)
        kept = sum(p >= edge for p in some) / len(some)
        return caught + kept

    best = max(balanced(e) for e in EDGES)
    tied = [e for e in EDGES if balanced(e) == best]
    return tied[len(tied) // 2]  # the middle of the best range: the widest margin both ways


def _answerable(pool: Pool) -> bool:
    return any(g >= 2 for g in pool.judged.values()) and not pool.expect_none


def _tops(pools: list[Pool], probs: list[np.ndarray], idx: list[int]) -> list[tuple[float, bool]]:
    """(best probability, answerable?) of the realistic demands among ``idx``."""
    return [
        (float(probs[n].max(initial=0.0)), _answerable(pools[n]))
        for n in idx
        if pools[n].bench == REALISTIC and (_answerable(pools[n]) or pools[n].expect_none)
    ]


def _realistic_report(pools: list[Pool], probs: list[np.ndarray], folds: int) -> dict:
    """Calibration (reliability, Brier) and the honest no-match on the realistic demands; each
    fold's 可能相关 edge is chosen on the other folds' demands, never on its own."""
    idx = [n for n, p in enumerate(pools) if p.bench == REALISTIC]
    if not idx:
        return {}
    strong = rel.RelevanceModel([], [], [], 0.0).bands["strong"]
    p = np.concatenate([probs[n][:10] for n in idx])
    accepted = np.concatenate([np.asarray(pools[n].grades[:10]) >= 2 for n in idx])
    fold = {n: fold_of(REALISTIC, pools[n].qid, folds) for n in idx}
    edges = {
        i: choose_edge(_tops(pools, probs, [n for n in idx if fold[n] != i])) for i in range(folds)
    }
    top = {n: float(probs[n].max(initial=0.0)) for n in idx}
    none = {n for n in idx if pools[n].expect_none}
    answerable = {n for n in idx if _answerable(pools[n])}
    weak = {n for n in idx if top[n] < edges[fold[n]]}
    flagged = weak & (none | answerable)
    judged = sorted(none | answerable)
    return {
        "calibration_top10_pairs": int(len(p)),
        "brier": round(rel.brier(p, accepted.astype(float)), 4),
        "reliability": rel.reliability(p, accepted.astype(float), bins=5),
        "no_match": {
            "band_edge_possible_per_fold": [edges[i] for i in range(folds)],
            "no_answer_demands": len(none),
            "answerable_demands": len(answerable),
            "precision": round(len(weak & none) / len(flagged), 3) if flagged else None,
            "recall": round(len(weak & none) / len(none), 3) if none else None,
            "answerable_marked_weak": len(weak & answerable),
            # how well the best probability tells answerable demands from the others (1 = always)
            "auc_top1": rel.auc([top[n] for n in judged], [n in answerable for n in judged]),
        },
        "answerable_top1": {
            "strong": sum(1 for n in answerable if top[n] >= strong),
            "possible": sum(1 for n in answerable if edges[fold[n]] <= top[n] < strong),
            "weak": len(weak & answerable),
        },
    }


def fit_shipped(pools: list[Pool], folds: int, embedder_name: str, about: dict):
    """The model users get: ranking fit on every dev query; calibration and the 可能相关 edge
    from the realistic demands' out-of-fold logits (a model never scores its own training
    pairs there)."""
    fold = [fold_of(p.bench, p.qid, folds) for p in pools]
    oof: dict[int, np.ndarray] = {}
    for i in range(folds):
        model = _fit([p for p, f in zip(pools, fold, strict=True) if f != i and p.docs], (1, 0), {})
        for n, (pool, f) in enumerate(zip(pools, fold, strict=True)):
            if f == i and pool.bench == REALISTIC and pool.docs:
                oof[n] = model.logits(rel.design(pool.signals))
    ids = sorted(oof)
    accept = [np.asarray(pools[n].grades) >= 2 for n in ids]
    a, c = rel.fit_calibration(np.concatenate([oof[n] for n in ids]), np.concatenate(accept))
    model = _fit([p for p in pools if p.docs], (a, c), about)
    model.embedder = embedder_name
    probs = [rel._sigmoid(a * oof[n] + c) if n in oof else np.zeros(0) for n in range(len(pools))]
    model.bands = {**model.bands, "possible": choose_edge(_tops(pools, probs, ids))}
    return model
