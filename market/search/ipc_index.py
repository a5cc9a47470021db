"""Where every listing sits in the IPC, searchable: listings by IPC-profile similarity to a query.

The matcher ranks its pooled candidates by IPC profile (``IpcProfile.similarity``). When a
query's subclass is clear, listings of that subclass which neither the dense nor the BM25 search
reached are worth a look too; this index finds them over the whole catalogue. Each listing keeps
its profile's ``TOP_SUBCLASSES`` heaviest subclasses — all 30 a text profile has: keeping only 10
lost 0.004 nDCG@10 on tt-ipc dev — in a sparse listings × subclasses matrix (row-major, about
240 MB at 1M listings), from which the matcher reads its pool's IPC similarities (a few rows,
instead of a database read per candidate). The whole-catalogue search reads a second,
column-major matrix of each listing's ``LEAD_SUBCLASSES`` heaviest subclasses, only the query's
own subclasses' columns of it. A
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

from market.search.versions import current_manifest, write_json, write_npz, write_version

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
TOP_SUBCLASSES = 30
# The whole-catalogue search matches the query's LEAD_SUBCLASSES heaviest subclasses against
# each listing's: a fraction of the work of the full profiles at 1M listings.
LEAD_SUBCLASSES = 5


class IpcIndex:
    """Listing ids (ints) with their IPC profiles' heaviest subclasses, rows sorted by id.

    Two matrices: every kept subclass row-major (``similarity`` reads a few rows), and each
    listing's leading subclasses column-major (``top`` reads a few columns).
    """

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}
        self._ids = np.zeros(0, dtype=np.int64)
        self._rows = sparse.csr_matrix((0, 0), dtype=np.float32)
        self._leads = sparse.csc_matrix((0, 0), dtype=np.float32)
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
            self._pending[int(listing_id)] = dict(heaviest)  # heaviest first
            self._dropped.discard(int(listing_id))

    def remove(self, ids: Iterable[int]) -> None:
        for listing_id in ids:
            self._pending.pop(int(listing_id), None)
            self._dropped.add(int(listing_id))

    def similarity(self, weights: Mapping[str, float], ids: Sequence[int]) -> dict[int, float]:
        """The given listings' similarity to a profile's weights (dot product over the kept
        subclasses: the cosine, both being unit length); ids not in the index are left out."""
        self._compact()
        wanted = np.asarray(list(ids), dtype=np.int64)
        if not len(self._ids) or not len(wanted):
            return {}
        rows = np.minimum(np.searchsorted(self._ids, wanted), len(self._ids) - 1)
        found = self._ids[rows] == wanted
        values = self._rows[rows[found]] @ self._query(weights)
        return dict(zip(wanted[found].tolist(), np.asarray(values).tolist(), strict=True))

    def top(
        self, weights: Mapping[str, float], k: int, exclude: Iterable[int] = ()
    ) -> list[tuple[int, float]]:
        """The ``k`` listings whose leading subclasses best match the profile's leading ones
        (``LEAD_SUBCLASSES`` on both sides), best first, ties by id; listings sharing none of
        them are left out."""
        self._compact()
        lead = sorted(weights.items(), key=lambda cw: (-cw[1], cw[0]))[:LEAD_SUBCLASSES]
        query = [(self._codes[c], w) for c, w in lead if c in self._codes and w > 0]
        if k <= 0 or not query or not len(self._ids):
            return []
        cols, values = zip(*query, strict=True)
        scores = np.zeros(len(self._ids), dtype=np.float32)
        indptr, indices, data = self._leads.indptr, self._leads.indices, self._leads.data
        for col, value in zip(cols, values, strict=True):
            start, end = indptr[col], indptr[col + 1]
            scores[indices[start:end]] += value * data[start:end]  # rows are unique per column
        skip = set(exclude)
        wanted = k + len(skip)
        hits = np.flatnonzero(scores > 0)
        if wanted < len(hits):
            cut = np.partition(scores[hits], len(hits) - wanted)[len(hits) - wanted]
            hits = hits[scores[hits] >= cut]
        order = hits[np.lexsort((self._ids[hits], -scores[hits]))]
        found = [(int(self._ids[r]), float(scores[r])) for r in order]
        return [(i, s) for i, s in found if i not in skip][:k]

    def _query(self, weights: Mapping[str, float]) -> np.ndarray:
        vector = np.zeros(len(self._codes), dtype=np.float32)
        for code, weight in weights.items():
            if code in self._codes:
                vector[self._codes[code]] = weight
        return vector

    def _compact(self) -> None:
        """Fold the pending adds and removals into the matrices (O(listings), once per batch)."""
        if not self._pending and not self._dropped:
            return
        changed = np.fromiter(set(self._pending) | self._dropped, dtype=np.int64)
        keep = ~np.isin(self._ids, changed)
        for profile in self._pending.values():
            for code in profile:
                self._codes.setdefault(code, len(self._codes))
        new_ids = np.fromiter(self._pending, dtype=np.int64, count=len(self._pending))
        ids = np.concatenate([self._ids[keep], new_ids])
        order = np.argsort(ids, kind="stable")
        profiles = list(self._pending.values())
        rows = self._stack(self._rows[keep], profiles, TOP_SUBCLASSES)[order]
        leads = self._stack(self._leads.tocsr()[keep], profiles, LEAD_SUBCLASSES)[order]
        self._ids, self._rows, self._leads = ids[order], rows, leads.tocsc()
        self._pending, self._dropped = {}, set()

    def _stack(self, kept: sparse.csr_matrix, profiles: list[dict], top: int) -> sparse.csr_matrix:
        """``kept`` rows, widened to every known subclass, then one row per new profile (its
        ``top`` heaviest subclasses)."""
        width = len(self._codes)
        heads = [list(p.items())[:top] for p in profiles]
        indptr = np.zeros(len(heads) + 1, dtype=np.int64)
        np.cumsum([len(h) for h in heads], out=indptr[1:])
        cols = np.asarray([self._codes[c] for h in heads for c, _ in h], dtype=np.int32)
        values = np.asarray([w for h in heads for _, w in h], dtype=np.float32)
        added = sparse.csr_matrix((values, cols, indptr), shape=(len(heads), width))
        kept = kept.tocsr()
        kept.resize((kept.shape[0], width))
        return sparse.vstack([kept, added], format="csr", dtype=np.float32)

    # -- persistence -------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike) -> Path:
        self._compact()
        codes = sorted(self._codes, key=self._codes.get)

        def fill(version_dir: Path) -> None:
            write_json(
                version_dir / "manifest.json",
                {"format": FORMAT_VERSION, "kind": "ipc", "count": len(self._ids), "codes": codes},
            )
            parts = ("indptr", "indices", "data")
            write_npz(
                version_dir / "matrices.npz",
                ids=self._ids,
                **{f"rows_{k}": getattr(self._rows, k) for k in parts},
                **{f"leads_{k}": getattr(self._leads, k) for k in parts},
            )

        version_dir = write_version(directory, fill)
        logger.info("saved IPC index (%d listings) to %s", len(self._ids), version_dir)
        return version_dir

    @classmethod
    def load(cls, directory: str | os.PathLike) -> IpcIndex:
        version_dir, manifest = current_manifest(directory, FORMAT_VERSION, "IPC index")
        index = cls()
        index._codes = {code: n for n, code in enumerate(manifest["codes"])}
        with np.load(version_dir / "matrices.npz") as arrays:
            index._ids = arrays["ids"].astype(np.int64)
            shape = (len(index._ids), len(index._codes))
            index._rows = sparse.csr_matrix(
                (arrays["rows_data"], arrays["rows_indices"], arrays["rows_indptr"]), shape=shape
            )
            index._leads = sparse.csc_matrix(
                (arrays["leads_data"], arrays["leads_indices"], arrays["leads_indptr"]),
                shape=shape,
            )
        return index
