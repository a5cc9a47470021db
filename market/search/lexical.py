"""BM25 index over Chinese tokens (bm25s), keyed by database ids.

Cost model: bm25s precomputes a sparse doc-term score matrix, so a query costs one sparse
column gather per query term (sub-millisecond at 10k docs, a few ms at 1M). ``add`` and
``remove`` only record the change; the matrix is rebuilt from cached tokens on the next
``search`` (or ``save``), which costs O(total tokens): about 0.1 s per 10k short documents
plus a bit of memory for the token cache. Batch writes between searches to pay it once.
``save`` stores the tokens (not the matrix), so ``load`` pays one rebuild and never re-runs
jieba.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path

import bm25s
import numpy as np

from market.search.tokenize import get_tokenizer
from market.search.versions import current_manifest, read_json, write_json, write_version

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1


# Measured on both dev benchmarks (queries up to ~120 distinct terms) and the 1M bench: see
# ``LexicalIndex._informative``.
MAX_QUERY_TERMS = 64


class LexicalIndex:
    """BM25 over tokenised texts; ids are any JSON-serialisable hashables (ints or strings)."""

    def __init__(
        self,
        tokenizer: str = "unibigram",
        k1: float = 1.2,
        b: float = 0.75,
        max_query_terms: int = MAX_QUERY_TERMS,
    ) -> None:
        self.tokenizer_name = tokenizer
        self.max_query_terms = max_query_terms
        self._tokenize = get_tokenizer(tokenizer)
        self.k1 = k1
        self.b = b
        self._tokens: dict[Hashable, list[str]] = {}
        self._ids: list[Hashable] = []
        self._row: dict[Hashable, int] = {}
        self._bm25: bm25s.BM25 | None = None
        self._vocab: dict[str, int] = {}
        self._dirty = False

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, doc_id: Hashable) -> bool:
        return doc_id in self._tokens

    @property
    def ids(self) -> list[Hashable]:
        return list(self._tokens)

    def build(self, ids: Sequence[Hashable], texts: Sequence[str]) -> LexicalIndex:
        """Replace the whole index with these documents."""
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids but {len(texts)} texts")
        self._tokens = {}
        self.add(ids, texts)
        self._rebuild()
        return self

    def add(self, ids: Sequence[Hashable], texts: Sequence[str]) -> None:
        """Add or replace documents; the matrix is rebuilt lazily before the next search."""
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids but {len(texts)} texts")
        for doc_id, text in zip(ids, texts, strict=True):
            self._tokens[doc_id] = self._tokenize(text)
        self._dirty = True

    def remove(self, ids: Iterable[Hashable]) -> int:
        """Drop documents (unknown ids are ignored); returns how many were removed."""
        removed = sum(self._tokens.pop(doc_id, None) is not None for doc_id in ids)
        self._dirty = self._dirty or removed > 0
        return removed

    def search(
        self, query: str, k: int = 10, exclude: Iterable[Hashable] = ()
    ) -> list[tuple[Hashable, float]]:
        """Top-k (id, score) by BM25, best first; documents sharing no term are left out."""
        scores = self.score_all(query)
        if scores is None:
            return []
        for doc_id in exclude:
            row = self._row.get(doc_id)
            if row is not None:
                scores[row] = 0.0
        return self._top_k(scores, k)

    def score_all(self, query: str) -> np.ndarray | None:
        """BM25 score of every document in ``self.ids`` order, or None if nothing can match."""
        self._ensure_built()
        if self._bm25 is None:
            return None
        term_ids = [self._vocab[t] for t in self._tokenize(query) if t in self._vocab]
        if not term_ids:
            return None
        # float32 as bm25s scores them: a float64 copy of 1M scores cost more than the search
        return np.asarray(self._bm25.get_scores(self._informative(term_ids)), dtype=np.float32)

    def _informative(self, term_ids: list[int]) -> list[int]:
        """A long query keeps only its ``max_query_terms`` rarest distinct terms (highest IDF).

        A demand's full description has hundreds of unigrams and bigrams; the common ones have
        posting lists as long as the corpus and barely move the ranking, but their cost grows
        with it. Repeats of a kept term stay, so its query frequency counts as before.
        """
        distinct = set(term_ids)
        if len(distinct) <= self.max_query_terms:
            return term_ids
        indptr = self._bm25.scores["indptr"]
        kept = set(
            sorted(distinct, key=lambda t: (indptr[t + 1] - indptr[t], t))[: self.max_query_terms]
        )
        return [t for t in term_ids if t in kept]

    # -- catalogue statistics (read-only: BM25 scoring never goes through these) ---------------

    def document_frequency(self, term: str) -> int:
        """How many documents hold ``term``, a token of this index's tokenizer (0 if none)."""
        self._ensure_built()
        term_id = self._vocab.get(term)
        if self._bm25 is None or term_id is None or term == "":
            return 0
        indptr = self._bm25.scores["indptr"]
        return int(indptr[term_id + 1] - indptr[term_id])

    def phrase_frequency(self, phrase: str) -> int:
        """Documents that may hold ``phrase``: the smallest document frequency of its tokens.

        Exact when the phrase is one token; otherwise an upper bound, and a close one for the
        character bigrams of the default tokenizer (a bigram across a word boundary, 制系 in
        控制系统, is about as rare as the compound itself).
        """
        tokens = set(self._tokenize(phrase))
        if not tokens:
            return 0
        return min(self.document_frequency(t) for t in tokens)

    def _top_k(self, scores: np.ndarray, k: int) -> list[tuple[Hashable, float]]:
        hits = np.flatnonzero(scores > 0)
        if k < len(hits):
            # argpartition narrows to the best k cheaply; ties at the cut-off are settled by row.
            cut = np.partition(scores[hits], len(hits) - k)[len(hits) - k]
            hits = hits[scores[hits] >= cut]
        # lexsort: last key is primary -> score descending, then row (insertion order) ascending.
        order = hits[np.lexsort((hits, -scores[hits]))][:k]
        return [(self._ids[i], float(scores[i])) for i in order]

    def _ensure_built(self) -> None:
        if self._dirty or (self._bm25 is None and self._tokens):
            self._rebuild()

    def _rebuild(self) -> None:
        started = time.perf_counter()
        self._ids = list(self._tokens)
        self._row = {doc_id: i for i, doc_id in enumerate(self._ids)}
        self._vocab = {}
        corpus_ids = [
            [self._vocab.setdefault(t, len(self._vocab)) for t in self._tokens[doc_id]]
            for doc_id in self._ids
        ]
        self._bm25 = None
        if self._ids:
            self._bm25 = bm25s.BM25(k1=self.k1, b=self.b)
            # Empty documents need the reserved empty token or bm25s cannot place them.
            self._vocab.setdefault("", len(self._vocab))
            corpus_ids = [ids or [self._vocab[""]] for ids in corpus_ids]
            self._bm25.index((corpus_ids, self._vocab), show_progress=False)
        self._dirty = False
        logger.info(
            "built BM25 over %d docs, %d terms in %.2fs",
            len(self._ids),
            len(self._vocab),
            time.perf_counter() - started,
        )

    # -- persistence -------------------------------------------------------------------------

    def manifest(self) -> dict:
        return {
            "format": FORMAT_VERSION,
            "kind": "bm25",
            "tokenizer": self.tokenizer_name,
            "k1": self.k1,
            "b": self.b,
            "count": len(self._tokens),
            "vocab_size": len(self._vocab),
        }

    def save(self, directory: str | os.PathLike) -> Path:
        """Write a new version under ``directory`` and switch ``CURRENT`` to it atomically
        (``market.search.versions``): the manifest and the tokens, not the matrix."""
        self._ensure_built()

        def fill(version_dir: Path) -> None:
            write_json(version_dir / "manifest.json", self.manifest())
            write_json(version_dir / "docs.json", [[i, self._tokens[i]] for i in self._ids])

        version_dir = write_version(directory, fill)
        logger.info("saved BM25 index (%d docs) to %s", len(self._ids), version_dir)
        return version_dir

    @classmethod
    def load(cls, directory: str | os.PathLike) -> LexicalIndex:
        """Load the version ``CURRENT`` points to; the tokenizer comes from its manifest."""
        version_dir, manifest = current_manifest(directory, FORMAT_VERSION, "lexical index")
        index = cls(manifest["tokenizer"], k1=manifest["k1"], b=manifest["b"])
        docs = read_json(version_dir / "docs.json")
        index._tokens = {_as_key(doc_id): tokens for doc_id, tokens in docs}
        index._rebuild()
        return index


def _as_key(doc_id: object) -> Hashable:
    # JSON turns tuples into lists; ids are ints or strings in practice.
    return tuple(doc_id) if isinstance(doc_id, list) else doc_id  # type: ignore[return-value]


def phrase_idf(indexes: Sequence[LexicalIndex], phrase: str) -> float:
    """IDF of ``phrase`` over several indexes taken as one catalogue (BM25's Lucene form)."""
    total = sum(len(index) for index in indexes)
    found = sum(index.phrase_frequency(phrase) for index in indexes)
    return math.log(1.0 + (total - found + 0.5) / (found + 0.5))
