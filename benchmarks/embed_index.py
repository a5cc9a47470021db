"""Benchmarks for embedders and the vector index (``flask --app market bench embed|index``).

Every function returns a JSON-serialisable dict; timing lives here, never in tests.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from market.search.embedders import Embedder
from market.search.index import VectorIndex

log = logging.getLogger(__name__)


def bench_raw_encode(
    embedder: Embedder, texts: list[str], kind: str = "passage", batch_size: int = 32
) -> dict:
    """Texts per second for one embedder (one warm-up batch excluded)."""
    embedder.encode(texts[:batch_size], kind, batch_size)
    start = time.perf_counter()
    vectors = embedder.encode(texts, kind, batch_size)
    seconds = time.perf_counter() - start
    return {
        "model": embedder.name,
        "texts": len(texts),
        "mean_chars": round(float(np.mean([len(t) for t in texts])), 1) if texts else 0.0,
        "batch_size": batch_size,
        "seconds": round(seconds, 3),
        "texts_per_s": round(len(texts) / seconds, 2) if seconds else None,
        "dim": int(vectors.shape[1]),
    }


def clustered_vectors(
    n: int, dim: int, clusters: int = 1000, latent: int = 32, seed: int = 0
) -> np.ndarray:
    """Unit vectors shaped like sentence embeddings: topic clusters in a low-dimensional latent
    space, projected to ``dim`` with a little isotropic noise.

    Real embeddings have a low intrinsic dimension; isotropic high-dimensional clusters make
    every neighbour a near-tie and understate what HNSW achieves on real data.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, latent), dtype=np.float32)
    projection = rng.standard_normal((latent, dim), dtype=np.float32) / np.sqrt(latent)
    out = np.empty((n, dim), dtype=np.float32)
    step = 100_000
    for start in range(0, n, step):
        size = min(step, n - start)
        points = centres[rng.integers(0, clusters, size)]
        points += 0.5 * rng.standard_normal((size, latent), dtype=np.float32)
        noise = rng.standard_normal((size, dim), dtype=np.float32)
        out[start : start + size] = points @ projection + 0.1 * noise
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


def _latencies(index: VectorIndex, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    found, times = [], []
    for q in queries:
        start = time.perf_counter()
        _, ids = index.search(q[None, :], k)
        times.append((time.perf_counter() - start) * 1000)
        found.append(ids[0])
    return np.array(found), times


def _bench_one(kind: str, vectors, queries, k: int, truth) -> tuple[dict, np.ndarray]:
    n, dim = vectors.shape
    threshold = n + 1 if kind == "flat" else 0
    rss = _rss_bytes()
    start = time.perf_counter()
    index = VectorIndex(dim, model="synthetic", hnsw_threshold=threshold)
    index.add(np.arange(n, dtype=np.int64), vectors)
    build = time.perf_counter() - start
    found, times = _latencies(index, queries, k)
    start = time.perf_counter()
    index.search(queries, k)
    batch_ms = (time.perf_counter() - start) * 1000
    recall = 1.0 if truth is None else _recall(found, truth, k)
    top1 = 1.0 if truth is None else float(np.mean(found[:, 0] == truth[:, 0]))
    result = {
        "index_type": index.kind,
        "build_s": round(build, 2),
        "memory_mb": round((_rss_bytes() - rss) / 2**20, 1),
        "p50_ms": round(float(np.percentile(times, 50)), 3),
        "p95_ms": round(float(np.percentile(times, 95)), 3),
        "batch_ms_per_query": round(batch_ms / len(queries), 3),
        f"recall@{k}": round(recall, 4),
        "top1_agreement": round(top1, 4),
    }
    del index
    return result, found


def _recall(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    hits = [len(set(f[:k]) & set(t[:k])) for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits)) / k


def bench_index(n_vectors: int, dim: int = 384, queries: int = 200, k: int = 10) -> dict:
    """Build time, memory, single-query p50/p95 and recall@k vs exact, for flat and HNSW."""
    vectors = clustered_vectors(n_vectors, dim)
    rng = np.random.default_rng(1)
    picks = rng.integers(0, n_vectors, queries)
    noisy = vectors[picks] + 0.05 * rng.standard_normal((queries, dim), dtype=np.float32)
    q = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    flat, truth = _bench_one("flat", vectors, q, k, None)
    log.info("flat done: %s", flat)
    hnsw, _ = _bench_one("hnsw", vectors, q, k, truth)
    log.info("hnsw done: %s", hnsw)
    return {
        "n_vectors": n_vectors,
        "dim": dim,
        "queries": queries,
        "k": k,
        "flat": flat,
        "hnsw": hnsw,
    }


def bench_embedders(embedders: list[Embedder], texts: list[str]) -> dict:
    """``bench_raw_encode`` for several embedders on the same texts."""
    return {e.name: bench_raw_encode(e, texts) for e in embedders}


if __name__ == "__main__":  # python -m benchmarks.embed_index 100000
    import json
    import sys

    logging.basicConfig(level=logging.INFO)
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print(json.dumps(bench_index(size), indent=2))
