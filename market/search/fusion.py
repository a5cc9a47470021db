"""Fusion of several ranked lists (dense, lexical, …) into one ranking.

Both fusions break ties the same deterministic way: higher fused score, then the better best
rank in any input list, then first appearance (inputs scanned list by list, top to bottom), so
results never depend on hash order or on comparing ids of different types.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Hashable, Sequence
from typing import Literal

import numpy as np

logger = logging.getLogger(__name__)

Hit = tuple[Hashable, float]
Norm = Literal["minmax", "zscore"]


def _check_weights(n_lists: int, weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0] * n_lists
    if len(weights) != n_lists:
        raise ValueError(f"{len(weights)} weights for {n_lists} ranked lists")
    return [float(w) for w in weights]


def _first_seen_and_best_rank(
    rankings: Sequence[Sequence[Hashable]],
) -> tuple[dict[Hashable, int], dict[Hashable, int]]:
    first: dict[Hashable, int] = {}
    best: dict[Hashable, int] = {}
    for ranking in rankings:
        for rank, doc_id in enumerate(ranking):
            first.setdefault(doc_id, len(first))
            best[doc_id] = min(best.get(doc_id, rank), rank)
    return first, best


def _ordered(
    scores: dict[Hashable, float], rankings: Sequence[Sequence[Hashable]], limit: int | None
) -> list[Hit]:
    first, best = _first_seen_and_best_rank(rankings)
    ordered = sorted(scores, key=lambda d: (-scores[d], best[d], first[d]))
    return [(d, scores[d]) for d in ordered[:limit]]


def rrf(
    rankings: Sequence[Sequence[Hashable]],
    k: float = 60.0,
    weights: Sequence[float] | None = None,
    limit: int | None = None,
) -> list[Hit]:
    """Reciprocal-rank fusion: ``sum_i w_i / (k + rank_i)`` with ranks starting at 1.

    ``rankings`` are lists of ids, best first; an id repeated within one list counts once, at
    its best rank.
    """
    if k < 0:
        raise ValueError("k must be non-negative")
    w = _check_weights(len(rankings), weights)
    scores: dict[Hashable, float] = {}
    for weight, ranking in zip(w, rankings, strict=True):
        seen: set[Hashable] = set()
        for rank, doc_id in enumerate(ranking, start=1):
            if doc_id in seen:
                continue
            seen.add(doc_id)
            scores[doc_id] = scores.get(doc_id, 0.0) + weight / (k + rank)
    return _ordered(scores, rankings, limit)


def normalize_scores(hits: Sequence[Hit], method: Norm = "minmax") -> dict[Hashable, float]:
    """Map one list's raw scores onto a comparable scale.

    minmax -> [0, 1]; zscore -> mean 0, unit variance. A list whose scores are all equal maps
    to 1.0 (minmax) or 0.0 (zscore): each hit is equally good, none is better than another.
    """
    if not hits:
        return {}
    values = [float(s) for _, s in hits]
    if method == "minmax":
        lo, hi = min(values), max(values)
        span = hi - lo
        return {d: ((float(s) - lo) / span if span > 0 else 1.0) for d, s in hits}
    if method == "zscore":
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        return {d: ((float(s) - mean) / std if std > 0 else 0.0) for d, s in hits}
    raise ValueError(f"unknown normalisation {method!r}")


def score_fusion(
    results: Sequence[Sequence[Hit]],
    weights: Sequence[float] | None = None,
    method: Norm = "minmax",
    limit: int | None = None,
) -> list[Hit]:
    """Weighted sum of normalised scores (a convex combination when weights sum to 1).

    A document absent from one list gets that list's lowest normalised score: it was not
    retrieved, so it should rank no better than the weakest hit that was.
    """
    w = _check_weights(len(results), weights)
    normalised = [normalize_scores(hits, method) for hits in results]
    floors = [min(n.values(), default=0.0) for n in normalised]
    all_ids = {d for n in normalised for d in n}
    scores = {
        d: sum(wi * n.get(d, floor) for wi, n, floor in zip(w, normalised, floors, strict=True))
        for d in all_ids
    }
    rankings = [[d for d, _ in hits] for hits in results]
    return _ordered(scores, rankings, limit)


def neighbor_diffusion(
    scores: dict[Hashable, float],
    neighbors: dict[Hashable, Sequence[Hashable]],
    weight: float,
    k: int,
    rounds: int = 1,
    candidates: Sequence[Hashable] | None = None,
) -> dict[Hashable, float]:
    """Scores spread along the nearest-listing graph, ``rounds`` times.

    Round by round every candidate's score becomes its own retrieval score plus ``weight`` ×
    the mean score its ``k`` nearest listings had after the round before (round 0: the
    retrieval scores). Listings that are alike tend to answer the same needs (the cluster
    hypothesis): a candidate whose neighbours, and their neighbours, also scored well sits in
    the field the query asks about, while a lone hit on a shared word does not. One round is
    plain neighbour smoothing; more rounds reach the neighbours' neighbours, which lets a
    listing the first retrieval missed (a ``candidates`` entry without a score of its own)
    rise on the strength of its company. A listing outside ``candidates`` counts 0; the mean is
    over ``k`` (not over the neighbours a listing has), so a listing with few neighbours is
    never lifted by them more than a full list would be.
    """
    if weight < 0 or k < 1 or rounds < 0:
        raise ValueError("weight and rounds must be non-negative and k at least 1")
    nodes = list(dict.fromkeys([*scores, *(candidates or ())]))
    own = np.array([scores.get(doc_id, 0.0) for doc_id in nodes], dtype=np.float64)
    if weight == 0 or not rounds:
        return dict(zip(nodes, own.tolist(), strict=True))
    # Row r lists the positions of node r's first k neighbours; the extra slot at len(nodes)
    # stands for every listing outside the candidates and always holds 0.
    slot = {doc_id: n for n, doc_id in enumerate(nodes)}
    outside = len(nodes)
    columns = np.full((len(nodes), k), outside, dtype=np.int64)
    for row, doc_id in enumerate(nodes):
        linked = [slot.get(n, outside) for n in neighbors.get(doc_id, ())[:k]]
        columns[row, : len(linked)] = linked
    current = own
    for _ in range(rounds):
        current = own + weight * np.append(current, 0.0)[columns].sum(axis=1) / k
    return dict(zip(nodes, current.tolist(), strict=True))


def neighbor_support(
    doc_id: Hashable, scores: dict[Hashable, float], neighbors: dict[Hashable, Sequence[Hashable]]
) -> int:
    """How many of a document's neighbours were retrieved too (for the explanation)."""
    return sum(1 for n in neighbors.get(doc_id, ()) if scores.get(n, 0.0) > 0)
