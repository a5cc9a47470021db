"""Retrieval evaluation on BEIR-layout benchmarks (see ``shared/bench/README.md``).

Metrics, macro-averaged over the queries that have judgements:

- nDCG@10 with gain ``2**grade - 1``; the ideal ranking is built from all judged documents.
- Recall@k counting only documents at the query's top grade.
- MRR@10: reciprocal rank of the first document at the query's top grade.

Each query's ``exclude`` ids are dropped from its ranking before scoring, as the README asks.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

Qrels = dict[str, dict[str, int]]
Run = Mapping[str, Sequence[str]]


@dataclass
class BeirDataset:
    """A loaded benchmark: documents, queries, graded judgements and per-query exclusions."""

    corpus: dict[str, dict[str, str]]
    queries: dict[str, str]
    qrels: Qrels
    excludes: dict[str, set[str]] = field(default_factory=dict)

    def doc_text(self, doc_id: str) -> str:
        doc = self.corpus[doc_id]
        return " ".join(part for part in (doc.get("title", ""), doc.get("text", "")) if part)


def _read_jsonl(path: Path) -> Iterable[dict]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def load_qrels(path: str | Path) -> Qrels:
    """Read a ``query-id  corpus-id  score`` TSV with a header line."""
    qrels: Qrels = {}
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        next(reader, None)
        for row in reader:
            if len(row) >= 3:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def load_beir(folder: str | Path, split: str = "dev") -> BeirDataset:
    """Load ``corpus.jsonl``, ``queries.<split>.jsonl`` and ``qrels.<split>.tsv``."""
    folder = Path(folder)
    return load_beir_files(
        folder / "corpus.jsonl", folder / f"queries.{split}.jsonl", folder / f"qrels.{split}.tsv"
    )


def load_beir_files(
    corpus_path: str | Path, queries_path: str | Path, qrels_path: str | Path
) -> BeirDataset:
    """Load a BEIR dataset from three explicit files (they may live anywhere)."""
    corpus = {
        str(d["_id"]): {"title": d.get("title") or "", "text": d.get("text") or ""}
        for d in _read_jsonl(Path(corpus_path))
    }
    queries: dict[str, str] = {}
    excludes: dict[str, set[str]] = {}
    for q in _read_jsonl(Path(queries_path)):
        queries[str(q["_id"])] = q["text"]
        if q.get("exclude"):
            excludes[str(q["_id"])] = {str(x) for x in q["exclude"]}
    qrels = load_qrels(qrels_path)
    logger.info("loaded %s: %d docs, %d queries", corpus_path, len(corpus), len(queries))
    return BeirDataset(corpus, queries, qrels, excludes)


def _dcg(gains: Iterable[float]) -> float:
    return sum(g / math.log2(rank + 2) for rank, g in enumerate(gains))


def ndcg_at_k(ranking: Sequence[str], judged: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k with exponential gain; 0 when nothing is judged relevant."""
    ideal = _dcg(sorted((2**g - 1 for g in judged.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return _dcg(2 ** judged.get(d, 0) - 1 for d in ranking[:k]) / ideal


def top_grade_docs(judged: Mapping[str, int]) -> set[str]:
    """Documents at the query's highest positive grade."""
    top = max((g for g in judged.values() if g > 0), default=0)
    return {d for d, g in judged.items() if g == top and top > 0}


def recall_at_k(ranking: Sequence[str], judged: Mapping[str, int], k: int) -> float:
    targets = top_grade_docs(judged)
    if not targets:
        return 0.0
    return len(targets.intersection(ranking[:k])) / len(targets)


def mrr_at_k(ranking: Sequence[str], judged: Mapping[str, int], k: int = 10) -> float:
    targets = top_grade_docs(judged)
    for rank, doc_id in enumerate(ranking[:k], start=1):
        if doc_id in targets:
            return 1.0 / rank
    return 0.0


def _clean_ranking(ranking: Sequence[str], excluded: set[str]) -> list[str]:
    """Drop excluded ids and repeated ids (a doc counts once, at its best rank)."""
    seen: set[str] = set()
    out: list[str] = []
    for doc_id in ranking:
        if doc_id not in excluded and doc_id not in seen:
            seen.add(doc_id)
            out.append(doc_id)
    return out


def per_query_metrics(ranking: Sequence[str], judged: Mapping[str, int]) -> dict[str, float]:
    return {
        "ndcg@10": ndcg_at_k(ranking, judged, 10),
        "recall@10": recall_at_k(ranking, judged, 10),
        "recall@100": recall_at_k(ranking, judged, 100),
        "mrr@10": mrr_at_k(ranking, judged, 10),
    }


def evaluate(
    run: Run,
    qrels: Mapping[str, Mapping[str, int]],
    excludes: Mapping[str, set[str]] | None = None,
    qids: Iterable[str] | None = None,
) -> dict[str, float]:
    """Macro-averaged metrics over ``qids`` (default: every judged query with a positive grade).

    A judged query missing from ``run`` scores 0, so a system cannot gain by skipping queries.
    """
    excludes = excludes or {}
    if qids is None:
        qids = [q for q, judged in qrels.items() if any(g > 0 for g in judged.values())]
    qids = sorted(qids)
    totals = dict.fromkeys(("ndcg@10", "recall@10", "recall@100", "mrr@10"), 0.0)
    for qid in qids:
        ranking = _clean_ranking(run.get(qid, ()), excludes.get(qid, set()))
        for name, value in per_query_metrics(ranking, qrels.get(qid, {})).items():
            totals[name] += value
    n = len(qids)
    result = {name: (total / n if n else 0.0) for name, total in totals.items()}
    result["queries"] = n
    return result
