"""Where every listing sits in the IPC, searchable: listings by IPC-profile similarity to a query.

The matcher ranks its pooled candidates by IPC profile (``IpcProfile.similarity``). When a
query's subclass is clear, listings of that subclass which neither the dense nor the BM25 search
reached are worth a look too; this index finds them over the whole catalogue. Each listing keeps
its profile's ``TOP_SUBCLASSES`` heaviest subclasses — all 30 a text profile has: keeping only 10
lost 0.004 nDCG@10 on tt-ipc dev — in a sparse listings × subclasses matrix (column-major,
about 240 MB at 1M listings): a query reads only its own
subclasses' columns. The matcher also reads its pool's IPC similarities from here, so a query
costs one pass over its subclasses' columns instead of a database read per candidate. A
listing's row holds its declared codes when it has any (as of its last indexing: every edit
re-indexes), else its text profile. Kept in step with the database like the BM25 index, saved
beside it (``market.search.versions``), and always rebuildable from the listings' texts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from scipy import sparse

from market.search.versions import current_dir, read_json, write_json, write_version

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
TOP_SUBCLASSES = 30


class IpcIndex:
    """Listing ids (ints) with their IPC profiles' heaviest subclasses, rows sorted by id."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}
        self._ids = np.zeros(0, dtype=np.int64)
        self._matrix = sparse.csc_matrix((0, 0), dtype=np.float32)
        self._pending: dict[int, dict[str, float]] = {}
        self._dropped: set[int] = set()

    def __len__(self) -> int:
        self._compact()
        return len(self._ids)

    @property
    def ids(self) -> list[int]:
        self._compact()
        return self._ids.tolist()

    def add(self, ids: Sequence[int], weights: Sequence[Mapping[str, float]]) -> None:
        """Add or replace listings; ``weights`` are their profiles' subclass weights (an empty
        one is kept too, so the listing counts as indexed)."""
        if len(ids) != len(weights):
            raise ValueError(f"{len(ids)} ids but {len(weights)} profiles")
        for listing_id, profile in zip(ids, weights, strict=True):
            heaviest = sorted(profile.items(), key=lambda cw: (-cw[1], cw[0]))[:TOP_SUBCLASSES]
            self._pending[int(listing_id)] = dict(heaviest)
            self._dropped.discard(int(listing_id))

    def remove(self, ids: Iterable[int]) -> None:
        for listing_id in ids:
            self._pending.pop(int(listing_id), None)
            self._dropped.add(int(listing_id))

    def scores(self, weights: Mapping[str, float]) -> np.ndarray:
        """Every listing's similarity to a profile's weights (dot product over the kept
        subclasses), in row order; reads only the query's subclasses' columns."""
        self._compact()
        query = [(self._codes[c], w) for c, w in weights.items() if c in self._codes and w > 0]
        if not query or not len(self._ids):
            return np.zeros(len(self._ids), dtype=np.float32)
        cols, values = zip(*query, strict=True)
        return self._matrix[:, list(cols)] @ np.asarray(values, dtype=np.float32)

    def similarity(self, scores: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """Entries of ``scores`` (from ``scores``) for the given listings; ids not in the index
        are left out."""
        wanted = np.asarray(ids, dtype=np.int64)
        rows = np.searchsorted(self._ids, wanted)
        rows[rows == len(self._ids)] = 0
        found = self._ids[rows] == wanted if len(self._ids) else np.zeros(len(wanted), bool)
        return dict(zip(wanted[found].tolist(), scores[rows[found]].tolist(), strict=True))

    def top(
        self, weights: Mapping[str, float], k: int, exclude: Iterable[int] = (), scores=None
    ) -> list[tuple[int, float]]:
        """The ``k`` listings most similar to a profile's weights, best first, ties by id;
        listings sharing no subclass are left out. ``scores`` may pass ``scores(weights)``."""
        scores = self.scores(weights) if scores is None else scores
        skip = set(exclude)
        wanted = k + len(skip)
        hits = np.flatnonzero(scores > 0)
        if k <= 0 or not len(hits):
            return []
        if wanted < len(hits):
            cut = np.partition(scores[hits], len(hits) - wanted)[len(hits) - wanted]
            hits = hits[scores[hits] >= cut]
        order = hits[np.lexsort((self._ids[hits], -scores[hits]))]
        found = [(int(self._ids[r]), float(scores[r])) for r in order]
        return [(i, s) for i, s in found if i not in skip][:k]

    def _compact(self) -> None:
        """Fold the pending adds and removals into the matrix (O(listings), once per batch)."""
        if not self._pending and not self._dropped:
            return
        changed = np.fromiter(set(self._pending) | self._dropped, dtype=np.int64)
        keep = ~np.isin(self._ids, changed)
        for profile in self._pending.values():
            for code in profile:
                self._codes.setdefault(code, len(self._codes))
        new_ids = np.fromiter(self._pending, dtype=np.int64, count=len(self._pending))
        indptr = np.zeros(len(new_ids) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in self._pending.values()], out=indptr[1:])
        cols = [self._codes[c] for p in self._pending.values() for c in p]
        values = [w for p in self._pending.values() for w in p.values()]
        width = len(self._codes)
        added = sparse.csr_matrix(
            (np.asarray(values, np.float32), np.asarray(cols, np.int32), indptr),
            shape=(len(new_ids), width),
        )
        kept = self._matrix.tocsr()[keep]
        kept.resize((kept.shape[0], width))
        ids = np.concatenate([self._ids[keep], new_ids])
        order = np.argsort(ids, kind="stable")
        rows = sparse.vstack([kept, added], format="csr", dtype=np.float32)[order]
        self._ids, self._matrix = ids[order], rows.tocsc()
        self._pending, self._dropped = {}, set()

    # -- persistence -------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike) -> Path:
        self._compact()
        codes = sorted(self._codes, key=self._codes.get)

        def fill(version_dir: Path) -> None:
            write_json(
                version_dir / "manifest.json",
                {"format": FORMAT_VERSION, "kind": "ipc", "count": len(self._ids), "codes": codes},
            )
            with open(version_dir / "columns.npz", "wb") as fh:
                np.savez(
                    fh,
                    ids=self._ids,
                    indptr=self._matrix.indptr,
                    indices=self._matrix.indices,
                    data=self._matrix.data,
                )
                fh.flush()
                os.fsync(fh.fileno())

        version_dir = write_version(directory, fill)
        logger.info("saved IPC index (%d listings) to %s", len(self._ids), version_dir)
        return version_dir

    @classmethod
    def load(cls, directory: str | os.PathLike) -> IpcIndex:
        version_dir = current_dir(directory)
        manifest = read_json(version_dir / "manifest.json")
        if manifest.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported IPC index format {manifest.get('format')!r}")
        index = cls()
        index._codes = {code: n for n, code in enumerate(manifest["codes"])}
        with np.load(version_dir / "columns.npz") as arrays:
            index._ids = arrays["ids"].astype(np.int64)
            index._matrix = sparse.csc_matrix(
                (arrays["data"], arrays["indices"], arrays["indptr"]),
                shape=(len(index._ids), len(index._codes)),
            )
        return index
