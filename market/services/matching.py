"""The matcher: hybrid retrieval, fit features, one score, an explanation, stored proposals.

Retrieval takes the dense top-N from FAISS and the lexical top-N from BM25 and fuses them by
reciprocal rank; every fused candidate then gets the structured fit features of
``market.search.features``, hard constraints filter, and the weighted score orders the rest.
Both directions use the same code: demand → outcomes and outcome → demands.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from flask import current_app
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session, joinedload

from market.search import features as fit
from market.search import relevance
from market.search.fusion import neighbor_diffusion, neighbor_support, rrf
from market.search.ipc_suggest import IpcProfile
from models import (
    Demand,
    ListingVector,
    Match,
    Organization,
    Outcome,
    Patent,
    db,
    local_today,
    outcome_ipc,
    utcnow,
)
from models.listings import outcome_text, patent_in_force

from . import indexing

log = logging.getLogger(__name__)

CANDIDATES = 100
PROPOSALS = 10
MIN_SCORE = 0.0
RETRIEVAL_MODES = ("bm25", "dense", "hybrid", "hybrid+features")
RRF_K = 20
# Hybrid retrieval settings (config keys MATCH_NEIGHBOR_WEIGHT, MATCH_NEIGHBOR_WEIGHT_SURE,
# MATCH_NEIGHBOR_ROUNDS, MATCH_IPC_GAIN), chosen on the dev splits of tt-ipc and tt-csl only
# (see README, "Matching quality").
NEIGHBOR_WEIGHT = 3.0  # λ when the query's IPC subclass is unclear: the neighbourhood decides more
NEIGHBOR_WEIGHT_SURE = 1.0  # λ when the IPC ranking is fully trusted (declared or clear codes)
NEIGHBOR_ROUNDS = 2  # diffusion rounds: 1 = neighbours only, 2+ = neighbours' neighbours too
# Diffusion may also reach the missed neighbours of this many best fused hits: +0.005 nDCG@10 on
# tt-csl with 50, but reading their lists costs ~60 ms a query at 1M listings, so it is off.
NEIGHBOR_GROW_FROM = 0
IPC_GAIN = 2.0  # the IPC ranking weighs min(1, gain × (query confidence − 1))
# When the IPC ranking weighs at least IPC_POOL_FROM, the IPC_POOL listings most similar by IPC
# profile over the whole catalogue join the pool (``market.search.ipc_index``).
IPC_POOL = 30
IPC_POOL_FROM = 0.75


@dataclass
class Candidate:
    listing_id: int
    dense: float | None = None
    lexical: float | None = None
    fused: float = 0.0
    score: float = 0.0
    features: fit.FitFeatures | None = None
    explanation: dict[str, Any] = field(default_factory=dict)
    ipc: float | None = None  # cosine of the two IPC profiles (hybrid retrieval only)
    neighbors: int | None = None  # how many of its nearest listings were retrieved too
    via_neighbors: bool = False  # missed by the first retrieval, reached through its neighbours
    via_ipc: bool = False  # missed by the dense and BM25 searches, pooled by its IPC subclass
    # raw retrieval signals the relevance model reads (hybrid retrieval only): see
    # ``market.search.relevance.FEATURES``
    signals: dict[str, float] = field(default_factory=dict)
    relevance: float | None = None  # calibrated P(a broker accepts the pair)
    band: str | None = None  # strong / possible / weak (强匹配 / 可能相关 / 不建议)

    def retrieval_evidence(self) -> dict[str, Any]:
        return {
            "ipc_similarity": None if self.ipc is None else round(self.ipc, 4),
            "neighbors_retrieved": self.neighbors,
            "neighbors": indexing.NEIGHBORS,
            "via_neighbors": self.via_neighbors,
            "via_ipc": self.via_ipc,
        }


def weights() -> dict[str, float]:
    configured = current_app.config.get("MATCH_WEIGHTS") or {}
    return {**fit.DEFAULT_WEIGHTS, **configured}


# -- retrieval ------------------------------------------------------------------------------


def query_vector(kind: str, listing) -> np.ndarray:
    """The listing encoded as a query (e5 models are asymmetric), cached in listing_vector."""
    emb = indexing.embedder()
    key = f"{kind}:query"
    model = indexing.model_key(emb)
    row = db.session.get(ListingVector, (key, listing.id, model))
    if row is not None and row.content_hash == listing.content_hash:
        return np.frombuffer(row.vector, dtype=np.float32)[None, :]
    vector = emb.encode([listing.embedding_text()], kind="query")
    indexing.store_vector(key, listing, model, vector[0])
    return vector


def dense_hits(kind: str, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
    index = indexing.get_index(kind)
    if not len(index):
        return []
    scores, ids = index.search(vector, k)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def lexical_hits(kind: str, text: str, k: int) -> list[tuple[int, float]]:
    lexical = indexing.get_lexical(kind)
    if not len(lexical):
        return []
    return [(int(i), float(s)) for i, s in lexical.search(text, k)]


def retrieve(
    kind: str,
    text: str,
    vector: np.ndarray | None,
    mode: str = "hybrid",
    k: int = CANDIDATES,
    exclude: set[int] | None = None,
    profile: IpcProfile | None = None,
) -> list[Candidate]:
    """Candidates of ``kind`` for a query, best first, by the chosen retrieval mode.

    ``hybrid`` pools the dense and BM25 hits and fuses three rankings of the pool by reciprocal
    rank: by the query's similarity to each listing's neighbourhood-expanded vector, by BM25,
    and by IPC-profile similarity, weighted by how surely the query's subclass is known (when
    it is known well enough, the listings closest by IPC profile over the whole catalogue join
    the pool first: ``MATCH_IPC_POOL``, ``MATCH_IPC_POOL_FROM``). The
    fused scores then spread over the nearest-listing graph (``neighbor_diffusion``: each
    listing gains λ × its neighbours' mean score, for a few rounds; with
    ``MATCH_NEIGHBOR_GROW_FROM`` the best hits' neighbours that the first retrieval missed
    become candidates too); λ is lower the surer the query's
    IPC subclass (``neighbor_weight``). ``profile`` is the query's IPC profile (declared codes win);
    without one it is computed from ``text``.
    """
    exclude = exclude or set()
    dense = dense_hits(kind, vector, k + len(exclude)) if mode != "bm25" else []
    lexical = lexical_hits(kind, text, k + len(exclude)) if mode != "dense" else []
    dense = [(i, s) for i, s in dense if i not in exclude][:k]
    lexical = [(i, s) for i, s in lexical if i not in exclude][:k]
    dense_score, lexical_score = _unit(dense), _unit(lexical)
    rankings = [r for r in ([i for i, _ in dense], [i for i, _ in lexical]) if r]
    weights = [1.0] * len(rankings)
    hybrid = mode == "hybrid" and bool(rankings)
    similarity: dict[int, float] = {}
    hoods: dict[int, indexing.Neighborhood] = {}
    classified: list[int] = []
    if hybrid:
        profile = profile if profile is not None else _text_profile(text)
        channel = ipc_channel_weight(profile)
        pool = {i: n for n, i in enumerate(dict.fromkeys(i for r in rankings for i in r))}
        if channel > 0:
            ipc_index = indexing.get_ipc_index(kind)
            classified = _classified(ipc_index, profile, channel, exclude)
            classified = [i for i in classified if i not in pool]
            pool.update({i: len(pool) + n for n, i in enumerate(classified)})
            similarity = ipc_index.similarity(profile.weights, list(pool))
        hoods = _batched(("hood", kind), list(pool), lambda ids: indexing.neighborhoods(kind, ids))
        if dense:
            rankings[0] = _expanded_ranking(pool, hoods, vector, dict(dense), k)
        if channel > 0:
            by_ipc = sorted(
                (i for i in pool if similarity.get(i, 0.0) > 0),
                key=lambda i: (-similarity[i], pool[i]),
            )
            if by_ipc:
                rankings.append(by_ipc[:k])
                weights.append(channel)
    fused = dict(rrf(rankings, k=RRF_K, weights=weights)) if rankings else {}
    order = {i: n for n, i in enumerate(fused)}
    scores, support = fused, {}
    if hybrid:
        neighbors = {i: hood.neighbors for i, hood in hoods.items()}
        weight, rounds = neighbor_weight(channel), int(_setting("MATCH_NEIGHBOR_ROUNDS"))
        grow = weight and rounds > 1 and _setting("MATCH_NEIGHBOR_GROW_FROM") > 0
        grown = _grown(kind, fused, neighbors, set(pool) | exclude) if grow else []
        order.update((i, len(order) + n) for n, i in enumerate(grown))
        scores = neighbor_diffusion(
            fused, neighbors, weight, indexing.NEIGHBORS, rounds=rounds, candidates=grown
        )
    best = sorted(scores, key=lambda i: (-scores[i], order[i]))[:k]
    signals: dict[int, dict[str, float]] = {}
    if hybrid:
        support = {i: neighbor_support(i, fused, neighbors) for i in best}
        signals = _signals(kind, best, vector, dense, lexical, hoods, similarity, channel, text)
        for i in best:
            signals[i]["support"] = (support.get(i) or 0) / indexing.NEIGHBORS
    fused_unit = _unit([(int(i), float(scores[i])) for i in best])
    from_ipc = set(classified)
    return [
        Candidate(
            int(i),
            dense_score.get(i),
            lexical_score.get(i),
            fused_unit[int(i)],
            ipc=similarity.get(i) if hybrid else None,
            neighbors=support.get(i) if hybrid else None,
            via_neighbors=i not in fused,
            via_ipc=i in from_ipc,
            signals=signals.get(i, {}),
        )
        for i in best
    ]


def _signals(
    kind: str,
    best: list[int],
    vector: np.ndarray | None,
    dense: list[tuple[int, float]],
    lexical: list[tuple[int, float]],
    hoods: dict[int, indexing.Neighborhood],
    similarity: dict[int, float],
    channel: float,
    text: str,
) -> dict[int, dict[str, float]]:
    """Raw, comparable-across-queries evidence for each retrieved listing: its own cosine with
    the query (read from the vector index for the BM25-only hits too), its neighbourhood's,
    its BM25 score against the query's best, the ranks it reached, its IPC similarity; and the
    query's own traits (length, how clear its IPC subclass is)."""
    out = {i: {} for i in best}
    if not best:
        return out
    dense_rank = {i: n for n, (i, _) in enumerate(dense)}
    lexical_rank = {i: n for n, (i, _) in enumerate(lexical)}
    bm25 = dict(lexical)
    top_bm25 = max(bm25.values(), default=0.0)
    cosine = dict(dense)
    if vector is not None:
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        missing = [i for i in best if i not in cosine]
        if missing:
            found, rows = indexing.get_index(kind).vectors(missing)
            cosine.update(
                (i, float(r @ query)) for i, r, f in zip(missing, rows, found, strict=True) if f
            )
    top_cosine = max((cosine.get(i, 0.0) for i in best), default=0.0)
    length = float(np.log1p(len(text)))
    form = relevance.query_form(text)
    for rank, i in enumerate(best):
        hood = hoods.get(i)
        own = cosine.get(i, 0.0)
        expanded = own
        if vector is not None and hood is not None and hood.expanded is not None:
            expanded = float(np.asarray(hood.expanded, dtype=np.float32) @ query)
        out[i] = {
            "cosine": own,
            "cosine_gap": own - top_cosine,
            "expanded": expanded,
            "bm25_ratio": bm25.get(i, 0.0) / top_bm25 if top_bm25 > 0 else 0.0,
            "dense_rank": float(np.log1p(dense_rank.get(i, len(dense) or CANDIDATES))),
            "lexical_rank": float(np.log1p(lexical_rank.get(i, len(lexical) or CANDIDATES))),
            "fused_rank": float(np.log1p(rank)),
            "ipc": similarity.get(i, 0.0) * channel,
            "query_length": length,
            "channel": channel,
            **form,
        }
    return out


def _expanded_ranking(
    pool: dict[int, int],
    hoods: dict[int, indexing.Neighborhood],
    vector: np.ndarray,
    dense: dict[int, float],
    k: int,
) -> list[int]:
    """The pool ranked by the query's cosine with each listing's expanded vector; a listing
    not yet linked to its neighbours keeps its plain dense score, one outside the dense hits
    and unlinked is left out."""
    query = np.asarray(vector, dtype=np.float32).reshape(-1)
    linked = [i for i in pool if hoods.get(i) is not None and hoods[i].expanded is not None]
    scores = dict(dense)
    if linked:
        matrix = np.vstack([hoods[i].expanded for i in linked])
        scores.update(zip(linked, (matrix @ query).tolist(), strict=True))
    return sorted(scores, key=lambda i: (-scores[i], pool[i]))[:k]


_SETTINGS = {
    "MATCH_NEIGHBOR_WEIGHT": NEIGHBOR_WEIGHT,
    "MATCH_NEIGHBOR_WEIGHT_SURE": NEIGHBOR_WEIGHT_SURE,
    "MATCH_NEIGHBOR_ROUNDS": NEIGHBOR_ROUNDS,
    "MATCH_NEIGHBOR_GROW_FROM": NEIGHBOR_GROW_FROM,
    "MATCH_IPC_GAIN": IPC_GAIN,
    "MATCH_IPC_POOL": IPC_POOL,
    "MATCH_IPC_POOL_FROM": IPC_POOL_FROM,
}


def _setting(name: str) -> float:
    return float(current_app.config.get(name, _SETTINGS[name]))


def ipc_channel_weight(profile: IpcProfile) -> float:
    """How much the IPC ranking counts: 0 when the query could sit in many subclasses alike,
    1 when one subclass clearly leads (or the codes were declared)."""
    if not profile:
        return 0.0
    return min(1.0, max(0.0, _setting("MATCH_IPC_GAIN") * (profile.confidence - 1.0)))


def _classified(ipc_index, profile: IpcProfile, channel: float, exclude: set[int]) -> list[int]:
    """The ``MATCH_IPC_POOL`` listings closest to the query's IPC profile over the whole
    catalogue, when the IPC ranking weighs at least ``MATCH_IPC_POOL_FROM``; none otherwise."""
    size = int(_setting("MATCH_IPC_POOL"))
    if size <= 0 or channel < _setting("MATCH_IPC_POOL_FROM"):
        return []
    return [i for i, _ in ipc_index.top(profile.weights, size, exclude)]


def neighbor_weight(channel: float) -> float:
    """λ for a query whose IPC ranking weighs ``channel``: a query whose subclass is known
    leans on that ranking, one whose field is unclear on the neighbourhood of its hits."""
    sure, free = _setting("MATCH_NEIGHBOR_WEIGHT_SURE"), _setting("MATCH_NEIGHBOR_WEIGHT")
    return channel * sure + (1.0 - channel) * free


def _grown(
    kind: str, fused: dict[int, float], neighbors: dict[int, list[int]], known: set[int]
) -> list[int]:
    """The nearest listings of the ``MATCH_NEIGHBOR_GROW_FROM`` best fused hits that the first
    retrieval missed, still in the index, with their own neighbour lists added to
    ``neighbors`` (diffusion reaches them through these)."""
    top = sorted(fused, key=lambda i: -fused[i])[: int(_setting("MATCH_NEIGHBOR_GROW_FROM"))]
    reached = [n for i in top for n in neighbors.get(i, [])[: indexing.NEIGHBORS]]
    fresh = [n for n in dict.fromkeys(reached) if n not in known]
    live = indexing.get_index(kind).present(fresh) if fresh else set()
    grown = [n for n in fresh if n in live]
    neighbors.update(indexing.neighbor_lists(kind, grown))  # not cached: thousands per query
    return grown


def query_profile(declared: list[str] | None, stored: dict | None, text: str) -> IpcProfile:
    """A listing's IPC profile as a query: declared codes first, then the stored profile."""
    if declared:
        return IpcProfile.from_codes(declared)
    if stored:
        return IpcProfile.from_json(stored)
    return _text_profile(text)


@lru_cache(maxsize=4096)
def _text_profile(text: str) -> IpcProfile:
    """The IPC profile of a query text not yet indexed (a draft, a search, a benchmark query);
    the same text asks again on every refresh and page view."""
    return indexing.ipc_profile(text)


def _unit(hits: list[tuple[int, float]]) -> dict[int, float]:
    """Scores scaled into [0, 1] within one result list (min–max), so features can mix them."""
    if not hits:
        return {}
    values = np.array([s for _, s in hits], dtype=np.float64)
    low, high = values.min(), values.max()
    span = high - low
    return {i: (float((s - low) / span) if span > 0 else 1.0) for i, s in hits}


# -- facts for the fit features --------------------------------------------------------------


def structured_indicators(rows: list[dict], text: str) -> list:
    """Declared indicator rows first (marked as entered by the author), then any in the text.

    An empty list means "read, none found": the features then never parse the text again
    (they did, once per candidate pair, when this returned None)."""
    return list(_indicators(orjson.dumps(rows or []), text))


@lru_cache(maxsize=65_536)
def _indicators(rows: bytes, text: str) -> tuple:
    """Parsed once per listing text: listings are re-ranked often, their texts rarely change."""
    from market.search.indicators import listing_indicators

    return tuple(listing_indicators(orjson.loads(rows), text))


def demand_facts(demand: Demand, org: Organization | None = None) -> fit.DemandFacts:
    org = org or demand.organization
    indicators = structured_indicators(demand.indicators, demand.embedding_text())
    suggested = demand.suggested_ipc or []
    if demand.indexed_hash is None or demand.indexed_hash != demand.content_hash:
        suggested = _suggested(demand.embedding_text())  # not indexed (yet): suggest now
    return fit.DemandFacts(
        text=demand.embedding_text(),
        ipc_codes=list(demand.ipc_codes or []) or [s["code"] for s in suggested],
        industries=[demand.industry_code] if demand.industry_code else [],
        required_maturity=demand.required_maturity,
        city=demand.city,
        province=demand.province,
        budget_fen=demand.budget_max_fen,
        cooperation_modes=list(demand.cooperation_modes or []),
        status=demand.status,
        closes_on=demand.deadline,
        confidentiality=demand.confidentiality,
        is_sme=bool(org and org.is_sme),
        indicators=indicators,
    )


@lru_cache(maxsize=4096)
def _suggested(text: str) -> list[dict]:
    return indexing.suggest_ipc(text)


def outcome_facts(outcome: Outcome, today: date) -> fit.OutcomeFacts:
    patents = [(p.legal_status, p.expires_on) for p in outcome.patents]
    return _outcome_facts(outcome, outcome.ipc_codes, patents, today)


def _outcome_facts(row, declared: list[str], patents: list[tuple], today: date) -> fit.OutcomeFacts:
    """Facts from an Outcome or a plain row with the same column names."""
    best = max(
        patents, key=lambda p: (patent_in_force(p[0], p[1], today), p[1] or date.max), default=None
    )
    text = outcome_text(row.title, row.abstract)
    return fit.OutcomeFacts(
        text=text,
        ipc_codes=declared or [s["code"] for s in row.suggested_ipc or []],
        maturity=row.maturity,
        trl=row.trl,
        city=row.city,
        province=row.province,
        asking_price_fen=row.asking_price_fen,
        cooperation_modes=list(row.transfer_modes or []),
        status=row.status,
        patent_status=best[0] if best else None,
        patent_expires_on=best[1] if best else None,
        indicators=structured_indicators(row.indicators, text),
    )


_FACT_COLUMNS = (
    "id",
    "title",
    "abstract",
    "suggested_ipc",
    "maturity",
    "trl",
    "city",
    "province",
    "asking_price_fen",
    "transfer_modes",
    "status",
    "indicators",
)


def load_outcome_facts(ids: list[int], today: date) -> dict[int, fit.OutcomeFacts]:
    """``outcome_facts`` for many outcomes from three plain queries, without building ORM
    objects (a third of a demand's matching time at 100 candidates when it did)."""
    if not ids:
        return {}
    table, patent = Outcome.__table__, Patent.__table__
    rows = db.session.execute(
        select(*(table.c[name] for name in _FACT_COLUMNS)).where(table.c.id.in_(ids))
    ).all()
    codes: dict[int, list[str]] = {}
    stmt = (
        select(outcome_ipc.c.outcome_id, outcome_ipc.c.ipc_code)
        .where(outcome_ipc.c.outcome_id.in_(ids))
        .order_by(outcome_ipc.c.outcome_id, outcome_ipc.c.ipc_code)
    )
    for outcome_id, code in db.session.execute(stmt):
        codes.setdefault(outcome_id, []).append(code)
    patents: dict[int, list[tuple]] = {}
    stmt = select(patent.c.outcome_id, patent.c.legal_status, patent.c.expires_on).where(
        patent.c.outcome_id.in_(ids)
    )
    for outcome_id, status, expires_on in db.session.execute(stmt):
        patents.setdefault(outcome_id, []).append((status, expires_on))
    return {
        row.id: _outcome_facts(row, codes.get(row.id, []), patents.get(row.id, []), today)
        for row in rows
    }


# -- ranking ---------------------------------------------------------------------------------


FIT_KEYS = (
    "industry",
    "maturity",
    "region",
    "budget",
    "cooperation",
    "patent_life",
    "use_first",
    "indicators",
)


def fit_score(features: fit.FitFeatures, w: dict[str, float]) -> float:
    """How well the pair fits beyond the topic: region, budget, maturity, 先用后转, … in [0, 1]."""
    return fit.combine({k: features.values.get(k) for k in FIT_KEYS}, w)


def relevance_model() -> relevance.RelevanceModel | None:
    """The relevance model of the configured embedder (``MATCH_RELEVANCE_DIR`` overrides where
    models are read from); None when none was fit for it."""
    folder = current_app.config.get("MATCH_RELEVANCE_DIR") or relevance.MODEL_DIR
    return relevance.load_model(indexing.embedder().name, Path(folder))


def assess(cands: list[Candidate]) -> None:
    """Each candidate's calibrated relevance and band, from its retrieval signals."""
    with_signals = [c for c in cands if c.signals]
    if not with_signals:
        return
    model = relevance_model()
    if model is None:
        return
    probs = model.probabilities(relevance.design([c.signals for c in with_signals]))
    for cand, p in zip(with_signals, probs, strict=True):
        cand.relevance = float(p)
        cand.band = model.band(float(p))


def score_candidates(
    pairs: list[tuple[fit.DemandFacts, fit.OutcomeFacts, Candidate]],
    today: date,
    viewer_is_broker: bool = True,
    explain: bool = True,
    k: int | None = None,
) -> list[Candidate]:
    """Relevance first, then fit: each pair's calibrated relevance (its band first), fit
    features and hard constraints; the best ``k`` are returned, and only those are explained
    (phrase matching is the costly part, and nobody reads the 87th candidate's explanation).

    Fit re-orders candidates whose relevance is close (``relevance.FIT_TIE``) and never moves
    one across a band. Candidates without retrieval signals (not hybrid) keep the weighted mean
    of every feature as their score."""
    w = weights()
    assess([cand for _, _, cand in pairs])
    kept = []
    facts = {}
    for demand, outcome, cand in pairs:
        features = fit.compute_features(
            demand, outcome, semantic=cand.dense, lexical=cand.lexical, today=today
        )
        features.values["fused"] = cand.fused
        if not fit.visible_to(demand, outcome, viewer_is_broker):
            continue
        if fit.hard_constraints(demand, outcome, today):
            continue  # hard constraints filter, never just down-weight
        cand.features = features
        if cand.relevance is None:
            cand.score = fit.combine(features, w)
        else:
            cand.score = cand.relevance
        facts[cand.listing_id] = (demand, outcome)
        kept.append(cand)
    kept.sort(key=lambda c: _order(c, w))
    kept = kept[:k] if k is not None else kept
    if explain:
        catalogue = (indexing.get_lexical("outcome"), indexing.get_lexical("demand"))
        peers = [c.retrieval_evidence() for c in kept]
        for cand in kept:
            demand, outcome = facts[cand.listing_id]
            phrases = fit.matched_phrases(demand.text, outcome.text, catalogue=catalogue)
            evidence = cand.retrieval_evidence()
            cand.explanation = {
                **fit.explain(cand.features, phrases, w, evidence, peers=peers),
                "highlight": phrases,
                "retrieval": evidence,
            }
            if cand.relevance is not None:
                cand.explanation.update(
                    score=round(cand.relevance, 4),
                    relevance={
                        "probability": round(cand.relevance, 4),
                        "band": cand.band,
                        "label": relevance.BAND_LABELS[cand.band],
                        "fit": round(fit_score(cand.features, w), 4),
                    },
                )
    return kept


def _order(cand: Candidate, w: dict[str, float]) -> tuple:
    if cand.relevance is None:
        return (0, -cand.score, -cand.fused, cand.listing_id)
    key = relevance.order_key(cand.relevance, fit_score(cand.features, w))
    return (relevance.BANDS.index(cand.band), -key, -cand.fused, cand.listing_id)


def outcomes_for_demand(
    demand: Demand,
    k: int = PROPOSALS,
    mode: str = "hybrid+features",
    today: date | None = None,
    explain: bool = True,
    viewer_is_broker: bool = True,
    exclude: set[int] | None = None,
) -> list[Candidate]:
    """Demand → outcomes, best first."""
    today = today or local_today()
    vector = query_vector("demand", demand) if mode != "bm25" else None
    retrieval = "hybrid" if mode == "hybrid+features" else mode
    profile = query_profile(demand.ipc_codes, demand.ipc_profile, demand.embedding_text())
    candidates = retrieve(
        "outcome",
        demand.embedding_text(),
        vector,
        retrieval,
        k=max(CANDIDATES, k),
        exclude=exclude,
        profile=profile,
    )
    if mode != "hybrid+features":
        return candidates[:k]
    facts = _outcome_facts_for([c.listing_id for c in candidates], today)
    d_facts = demand_facts(demand)
    pairs = [(d_facts, facts[c.listing_id], c) for c in candidates if c.listing_id in facts]
    return score_candidates(pairs, today, viewer_is_broker, explain, k)


def demands_for_outcome(
    outcome: Outcome,
    k: int = PROPOSALS,
    today: date | None = None,
    explain: bool = True,
    viewer_is_broker: bool = False,
) -> list[Candidate]:
    """Outcome → demands (for tech-transfer offices), best first."""
    today = today or local_today()
    vector = query_vector("outcome", outcome)
    profile = query_profile(outcome.ipc_codes, outcome.ipc_profile, outcome.embedding_text())
    candidates = retrieve("demand", outcome.embedding_text(), vector, "hybrid", profile=profile)
    demands = _load_demands([c.listing_id for c in candidates])
    o_facts = outcome_facts(outcome, today)
    pairs = [
        (demand_facts(demands[c.listing_id]), o_facts, c)
        for c in candidates
        if c.listing_id in demands
    ]
    return score_candidates(pairs, today, viewer_is_broker, explain, k)


def search_text(kind: str, text: str, k: int = 20, mode: str = "hybrid") -> list[Candidate]:
    """Free-text search over one list: the query is encoded, then fused like a demand."""
    vector = indexing.embedder().encode([text], kind="query") if mode != "bm25" else None
    return retrieve(kind, text, vector, mode, k=k)


_batch_facts: ContextVar[dict | None] = ContextVar("batch_facts", default=None)


@contextmanager
def batch() -> Iterator[None]:
    """Proposals for many listings in one transaction: an outcome's facts and neighbourhood
    are read once.

    Nothing is edited inside a batch (the worker's refresh runs alone in its transaction), so
    the facts of an outcome that many demands retrieve stay valid until the batch ends.
    """
    token = _batch_facts.set({})
    try:
        yield
    finally:
        _batch_facts.reset(token)


def _batched(tag: tuple, ids: list[int], load: Callable[[list[int]], dict]) -> dict:
    """``load(ids)``, remembered per id for the rest of a ``batch()`` (absent ids too)."""
    cache = _batch_facts.get()
    if cache is None:
        return load(ids)
    missing = [i for i in ids if (tag, i) not in cache]
    if missing:
        found = load(missing)
        for i in missing:
            cache[(tag, i)] = found.get(i)
    return {i: cache[(tag, i)] for i in ids if cache[(tag, i)] is not None}


def _outcome_facts_for(ids: list[int], today: date) -> dict[int, fit.OutcomeFacts]:
    return _batched(("facts", today), ids, lambda missing: load_outcome_facts(missing, today))


def _load_demands(ids: list[int]) -> dict[int, Demand]:
    if not ids:
        return {}
    stmt = select(Demand).where(Demand.id.in_(ids)).options(joinedload(Demand.organization))
    return {row.id: row for row in db.session.scalars(stmt)}


# -- proposals -------------------------------------------------------------------------------


def complexity(cand: Candidate) -> float:
    """How much a broker is needed: failing soft constraints, price gap, patents to bundle."""
    values = cand.features.values if cand.features else {}
    weak = sum(
        1
        for key in ("maturity", "budget", "cooperation", "region", "indicators")
        if values.get(key) is not None and values[key] < 0.5
    )
    budget = values.get("budget")
    gap = 0.0 if budget is None else 1.0 - budget
    return round(weak / 5 + gap, 4)


def propose_for_demand(demand_id: int, k: int = PROPOSALS) -> dict:
    """Store the demand's relevant outcomes (not the 不建议 band) as proposals, withdraw stale
    ones, and record on the demand how the matching went (``Demand.match_summary``)."""
    hold_proposals_lock()
    demand = db.session.get(Demand, demand_id)
    if demand is None:
        return {"demand": demand_id, "proposed": 0, "withdrawn": 0}
    if demand.status != "published":
        withdrawn = withdraw(demand=demand)
        _propose_bundles(demand)  # a closed demand keeps only its decided bundles
        return {"demand": demand_id, "proposed": 0, "withdrawn": withdrawn}
    ranked = outcomes_for_demand(demand, k=k)
    summary = match_summary(demand, ranked)
    ranked = [c for c in ranked if c.band != "weak"]
    summary["proposed"] = len(ranked)  # what reconcile expects to find stored
    demand.match_summary = summary
    version = model_version()
    existing = {
        m.outcome_id: m
        for m in db.session.scalars(_fresh(select(Match), Match.demand_id, demand.id))
    }
    keep = set()
    for rank, cand in enumerate(ranked, start=1):
        _upsert_match(
            existing.get(cand.listing_id), demand.id, cand.listing_id, cand, rank, version
        )
        keep.add(cand.listing_id)
    withdrawn = 0
    for outcome_id, match in existing.items():
        if outcome_id not in keep and match.stage == "proposed" and not _challenge_win(match):
            match.stage = "withdrawn"
            withdrawn += 1
    demand.proposed_at = utcnow()
    db.session.flush()
    _propose_bundles(demand)
    return {"demand": demand_id, "proposed": len(ranked), "withdrawn": withdrawn}


def _propose_bundles(demand: Demand) -> None:
    """组合方案 follow the demand's proposals (services/bundles.py imports this module)."""
    from . import bundles

    bundles.propose_bundles(demand)


def match_summary(demand: Demand, ranked: list[Candidate]) -> dict:
    """What matching found for a demand: how many proposals per band, the best probability,
    and — when nothing reaches 可能相关 — what the text lacks and how to reword it."""
    bands = {band: sum(1 for c in ranked if c.band == band) for band in relevance.BANDS}
    best = max((c.relevance for c in ranked if c.relevance is not None), default=None)
    summary: dict[str, Any] = {
        "matched_at": utcnow().isoformat(timespec="seconds"),
        "bands": bands,
        "best": None if best is None else round(best, 4),
        "no_good_match": bool(ranked) and bands["strong"] + bands["possible"] == 0,
    }
    if summary["no_good_match"] or not ranked:
        summary["no_good_match"] = True
        summary["advice"] = rewording_advice(demand)
        summary["closest"] = [c.listing_id for c in ranked[:3]]
    return summary


ADVICE = {
    "short": "需求描述只有{n}个字：请写明要解决的技术问题、现场工况、现有做法及其不足。",
    "no_indicators": "没有量化指标：请写出目标参数，例如“预警提前≥10分钟”“能耗降低20%”。",
    "unclear_field": "技术领域不够明确：请写出涉及的技术方向、关键部件或材料，或选择IPC分类。",
    "challenge": "目录中可能暂时没有能直接解决该问题的成果：可以发布为“揭榜挂帅”，邀请高校院所揭榜，"
    "或请技术经纪人协助寻找。",
}


def rewording_advice(demand: Demand) -> list[dict]:
    """Plain suggestions (code, Chinese text) for a demand nothing in the catalogue answers."""
    text = demand.embedding_text()
    advice = []
    if len(text) < 60:
        advice.append({"code": "short", "n": len(text)})
    if not demand.indicators:
        advice.append({"code": "no_indicators"})
    profile = query_profile(demand.ipc_codes, demand.ipc_profile, text)
    if ipc_channel_weight(profile) < 0.5 and not demand.ipc_codes:
        advice.append({"code": "unclear_field"})
    advice.append({"code": "challenge"})
    for item in advice:
        item["text"] = ADVICE[item["code"]].format(n=item.get("n"))
    return advice


def propose_for_outcome(outcome_id: int, k: int = PROPOSALS) -> dict:
    """Store the demands an outcome fits best as proposals (the TTO's direction)."""
    hold_proposals_lock()
    outcome = db.session.get(Outcome, outcome_id)
    if outcome is None:
        return {"outcome": outcome_id, "proposed": 0, "withdrawn": 0}
    if outcome.status != "published":
        return {"outcome": outcome_id, "proposed": 0, "withdrawn": withdraw(outcome=outcome)}
    ranked = demands_for_outcome(outcome, k=k, viewer_is_broker=True)
    version = model_version()
    existing = {
        m.demand_id: m
        for m in db.session.scalars(_fresh(select(Match), Match.outcome_id, outcome.id))
    }
    for rank, cand in enumerate(ranked, start=1):
        _upsert_match(
            existing.get(cand.listing_id), cand.listing_id, outcome.id, cand, rank, version
        )
    outcome.proposed_at = utcnow()
    db.session.flush()
    return {"outcome": outcome_id, "proposed": len(ranked), "withdrawn": 0}


def _upsert_match(
    match: Match | None, demand_id: int, outcome_id: int, cand: Candidate, rank: int, version: str
) -> Match:
    components = {k: v for k, v in (cand.features.values if cand.features else {}).items()}
    components.update(dense=cand.dense, lexical=cand.lexical, fused=cand.fused)
    if cand.relevance is not None:
        components["relevance"] = round(cand.relevance, 6)
    if match is None:
        match = Match(demand_id=demand_id, outcome_id=outcome_id, stage="proposed")
        db.session.add(match)
    elif match.stage == "withdrawn":
        match.stage = "proposed"
    if match.stage != "proposed":
        return match  # a broker already decided: keep the decision and its evidence
    match.score = round(cand.score, 6)
    match.rank = rank
    match.components = components
    match.explanation = _json_safe(cand.explanation)
    match.complexity = complexity(cand)
    if not _challenge_win(match):
        match.model_version = version
    match.updated_at = utcnow()
    return match


# A 揭榜挂帅 winner's proposal was chosen by the enterprise, not ranked by the matcher: a
# refresh re-scores it but never withdraws it (see services/challenges.py).
CHALLENGE_VERSION = "challenge"


def _challenge_win(match: Match) -> bool:
    return match.model_version == CHALLENGE_VERSION


def refresh_proposals(demand_ids: list[int] | None = None) -> dict:
    """Recompute proposals for open demands (after a bulk import or a model change).

    Safe to run while another refresh or match task runs: it waits for their transaction (see
    ``hold_proposals_lock``). A refresh of every demand also counts as proposing for every
    outcome indexed before it started, as the worker's bulk path always has."""
    hold_proposals_lock()
    started = utcnow()
    stmt = select(Demand.id).where(Demand.status == "published").order_by(Demand.id)
    if demand_ids is not None:
        stmt = stmt.where(Demand.id.in_(demand_ids))
    totals = {"demands": 0, "proposed": 0, "withdrawn": 0}
    with batch():
        for demand_id in db.session.scalars(stmt).all():
            result = propose_for_demand(demand_id)
            totals["demands"] += 1
            totals["proposed"] += result["proposed"]
            totals["withdrawn"] += result["withdrawn"]
    if demand_ids is None:
        db.session.execute(
            Outcome.__table__.update()
            .where(_proposals_stale(Outcome), Outcome.indexed_at <= started)
            .values(proposed_at=started)
        )
    return totals


BATCH_REFRESH = 20  # past this many outcomes to repair, re-rank every open demand instead


def _proposals_stale(model: type):
    """Published and indexed, but proposals never stored or older than the index entry."""
    return (
        (model.status == "published")
        & model.indexed_at.is_not(None)
        & (model.indexed_hash == model.content_hash)
        & (model.proposed_at.is_(None) | (model.proposed_at < model.indexed_at))
    )


def stale_proposals() -> dict[str, list[int]]:
    """Listings whose proposals a lost match task left missing or stale: never computed or
    older than the listing's index entry, or (demands) fewer stored than the last matching
    proposed."""
    found = {
        kind: list(db.session.scalars(select(model.id).where(_proposals_stale(model))))
        for kind, model in indexing.KINDS.items()
    }
    stored = dict(
        db.session.execute(select(Match.demand_id, func.count()).group_by(Match.demand_id)).all()
    )
    stmt = select(Demand.id, Demand.match_summary).where(
        Demand.status == "published", Demand.proposed_at.is_not(None)
    )
    for demand_id, summary in db.session.execute(stmt):
        proposed = (summary or {}).get("proposed", 0)
        if stored.get(demand_id, 0) < proposed and demand_id not in found["demand"]:
            found["demand"].append(demand_id)
    return found


def repair_proposals() -> dict:
    """Recompute the proposals ``stale_proposals`` finds (reconcile's last step)."""
    hold_proposals_lock()
    stale = stale_proposals()
    demands, outcomes = sorted(stale["demand"]), stale["outcome"]
    if len(outcomes) > BATCH_REFRESH:
        result = refresh_proposals()
    else:
        result = refresh_proposals(demands)
        with batch():
            for outcome_id in outcomes:
                propose_for_outcome(outcome_id)
    return {"demands": result["demands"], "outcomes": len(outcomes)}


PROPOSALS_LOCK = 0x53425052  # PostgreSQL advisory lock key of proposal writers ("SBPR")
_HELD = "proposals_lock"


def hold_proposals_lock() -> None:
    """Until the current transaction ends, be the only transaction writing proposals.

    Two writers of the same ``Match`` rows (two catch-ups, beat's reconcile and a match task)
    would otherwise both read a row's version and the later one fail with StaleDataError, or
    both insert the same pair. PostgreSQL: a transaction-level advisory lock; SQLite: a file
    lock beside the indexes, released when the session's transaction ends."""
    session = db.session()
    if session.info.get(_HELD) is not None:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PROPOSALS_LOCK})
        session.info[_HELD] = True
        return
    session.connection()  # begin the transaction whose end releases the lock
    folder = Path(current_app.config["INDEX_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / ".proposals.lock", "w")  # noqa: SIM115 (closed when released)
    fcntl.flock(handle, fcntl.LOCK_EX)
    session.info[_HELD] = handle


@event.listens_for(Session, "after_transaction_end")
def _release_proposals_lock(session: Session, transaction) -> None:
    if transaction.parent is not None:
        return  # a savepoint: the lock belongs to the outer transaction
    held = session.info.pop(_HELD, None)
    if held is not None and held is not True:
        fcntl.flock(held, fcntl.LOCK_UN)
        held.close()


def _fresh(stmt, column, value):
    """Rows as committed now, not as an earlier read in this session left them (a concurrent
    writer may have moved their version on while this one waited for the lock)."""
    return stmt.where(column == value).execution_options(populate_existing=True)


def withdraw(demand: Demand | None = None, outcome: Outcome | None = None) -> int:
    """A side closed: its open proposals are withdrawn (decided ones stay as history)."""
    hold_proposals_lock()
    stmt = select(Match).where(Match.stage == "proposed")
    if demand is not None:
        stmt = stmt.where(Match.demand_id == demand.id)
    if outcome is not None:
        stmt = stmt.where(Match.outcome_id == outcome.id)
    matches = db.session.scalars(stmt).all()
    for match in matches:
        match.stage = "withdrawn"
    db.session.flush()
    return len(matches)


def model_version() -> str:
    emb = indexing.embedder()
    return f"{indexing.model_key(emb)}|v{indexing.get_index('outcome').version}"


def _json_safe(value):
    """Plain JSON values (numpy numbers, dates, int keys, tuples converted) for a JSON column."""
    return orjson.loads(orjson.dumps(value, option=_JSON_OPTIONS))


_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
