"""Every listing's nearest listings and expanded vector, in memory: what the matcher's
neighbourhood ranking and smoothing read.

The lists themselves are found by the vector index and stored in ``listing_vector.neighbors``
(the source of truth: finding them again for 1M listings takes minutes). The matcher reads a few
hundred of them per query, and a few thousand more when it grows its pool along the graph; read
from the database, those were random page reads of a multi-gigabyte table — tens of
milliseconds a query whenever the page cache did not hold them. Here they sit in one
listings × ``width`` id table (160 MB at 1M listings and 20 neighbours), beside each listing's
*expanded vector* — unit(its vector + the mean of its neighbours' vectors), float16 (768 MB at
1M listings and 384 dimensions; computing it per query from the neighbours' vectors cost 4–8 ms
of scattered memory reads, reading it 0.2 ms). Kept in step with the database like the BM25 and
IPC indexes, saved beside them (``market.search.versions``) and always rebuildable from
``listing_vector``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from market.search.versions import current_manifest, write_json, write_npz, write_version

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
NONE = -1  # padding after a list shorter than the table's width


class NeighborGraph:
    """Listing ids (ints, rows sorted by id), each with its neighbours' ids, best first, and its
    expanded vector; the table widens when a longer list arrives."""

    def __init__(self, width: int = 20) -> None:
        self._width = int(width)
        self._ids = np.zeros(0, dtype=np.int64)
        self._table = np.full((0, self._width), NONE, dtype=np.int64)
        self._expanded = np.zeros((0, 0), dtype=np.float16)
        self._pending: dict[int, tuple[list[int], np.ndarray]] = {}
        self._dropped: set[int] = set()

    def __len__(self) -> int:
        self._compact()
        return len(self._ids)

    @property
    def width(self) -> int:
        """Neighbours per row: the longest list seen, at least the width asked for."""
        self._compact()
        return self._width

    @property
    def ids(self) -> list[int]:
        self._compact()
        return self._ids.tolist()

    def set(self, lists: Mapping[int, Sequence[int]], expanded: np.ndarray) -> None:
        """Add or replace listings' neighbour lists (an empty list is kept: linked, alone) and
        expanded vectors (``expanded`` row n belongs to the n-th listing of ``lists``)."""
        if len(expanded) != len(lists):
            raise ValueError(f"{len(lists)} lists but {len(expanded)} expanded vectors")
        pending = next(iter(self._pending.values()), None)
        if pending is not None and len(expanded) and len(pending[1]) != expanded.shape[1]:
            self._compact()  # a batch of another dimension follows: see ``_compact``
        for (listing_id, found), vector in zip(lists.items(), expanded, strict=True):
            self._pending[int(listing_id)] = ([int(n) for n in found], vector)
            self._dropped.discard(int(listing_id))

    def remove(self, ids: Iterable[int]) -> None:
        for listing_id in ids:
            self._pending.pop(int(listing_id), None)
            self._dropped.add(int(listing_id))

    def table(self, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """For the given ids: whether each is in the graph, and its row of neighbour ids
        (``NONE``-padded; all ``NONE`` for an id not in the graph)."""
        self._compact()
        wanted = np.asarray(list(ids), dtype=np.int64)
        if not len(self._ids) or not len(wanted):
            return np.zeros(len(wanted), bool), np.full((len(wanted), self.width), NONE, np.int64)
        rows = np.minimum(np.searchsorted(self._ids, wanted), len(self._ids) - 1)
        found = self._ids[rows] == wanted
        table = np.where(found[:, None], self._table[rows], NONE)
        return found, table

    def expanded(self, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """For the given ids: whether each is in the graph, and its expanded vector as float32
        (zero rows for ids that are not)."""
        self._compact()
        wanted = np.asarray(list(ids), dtype=np.int64)
        dim = self._expanded.shape[1]
        if not len(self._ids) or not len(wanted):
            return np.zeros(len(wanted), bool), np.zeros((len(wanted), dim), np.float32)
        rows = np.minimum(np.searchsorted(self._ids, wanted), len(self._ids) - 1)
        found = self._ids[rows] == wanted
        vectors = self._expanded[rows].astype(np.float32)
        vectors[~found] = 0.0
        return found, vectors

    def lists(self, ids: Sequence[int]) -> dict[int, list[int]]:
        """The given listings' neighbour ids, best first; ids not in the graph are left out."""
        found, table = self.table(ids)
        return {
            int(i): [int(n) for n in row if n != NONE]
            for i, hit, row in zip(ids, found, table, strict=True)
            if hit
        }

    def _compact(self) -> None:
        """Fold the pending changes into the table (O(listings), once per batch)."""
        if not self._pending and not self._dropped:
            return
        changed = np.fromiter(set(self._pending) | self._dropped, dtype=np.int64)
        keep = ~np.isin(self._ids, changed)
        longest = max((len(found) for found, _ in self._pending.values()), default=0)
        if longest > self._width:  # lists grew (a larger neighbour count): widen the table
            padding = np.full((len(self._ids), longest - self._width), NONE, dtype=np.int64)
            self._table, self._width = np.hstack([self._table, padding]), longest
        added = np.full((len(self._pending), self._width), NONE, dtype=np.int64)
        for row, (found, _) in enumerate(self._pending.values()):
            added[row, : len(found)] = found
        vectors = [np.asarray(vector, dtype=np.float16) for _, vector in self._pending.values()]
        if vectors and len(vectors[0]) != self._expanded.shape[1]:
            # Another model (another dimension): the lists made with the old one go too.
            if len(self._ids):
                logger.warning("neighbour graph: %d lists of another model dropped", len(keep))
            keep = np.zeros(len(self._ids), dtype=bool)
            self._expanded = np.zeros((len(self._ids), len(vectors[0])), dtype=np.float16)
        fresh = np.vstack(vectors) if vectors else self._expanded[:0]
        new_ids = np.fromiter(self._pending, dtype=np.int64, count=len(self._pending))
        ids = np.concatenate([self._ids[keep], new_ids])
        order = np.argsort(ids, kind="stable")
        self._ids = ids[order]
        self._table = np.concatenate([self._table[keep], added])[order]
        self._expanded = np.concatenate([self._expanded[keep], fresh])[order]
        self._pending, self._dropped = {}, set()

    # -- persistence -------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike) -> Path:
        self._compact()

        def fill(version_dir: Path) -> None:
            write_json(
                version_dir / "manifest.json",
                {
                    "format": FORMAT_VERSION,
                    "kind": "neighbors",
                    "count": len(self._ids),
                    "width": self.width,
                },
            )
            write_npz(
                version_dir / "graph.npz",
                ids=self._ids,
                table=self._table,
                expanded=self._expanded,
            )

        version_dir = write_version(directory, fill)
        logger.info("saved neighbour graph (%d listings) to %s", len(self._ids), version_dir)
        return version_dir

    @classmethod
    def load(cls, directory: str | os.PathLike) -> NeighborGraph:
        version_dir, manifest = current_manifest(directory, FORMAT_VERSION, "neighbour graph")
        graph = cls(int(manifest["width"]))
        with np.load(version_dir / "graph.npz") as arrays:
            graph._ids = arrays["ids"].astype(np.int64)
            graph._table = arrays["table"].astype(np.int64).reshape(len(graph._ids), graph._width)
            graph._expanded = arrays["expanded"].astype(np.float16)
        if not len(graph._ids) == len(graph._expanded) == manifest["count"]:
            raise ValueError(f"neighbour graph holds {len(graph._ids)}, manifest says {manifest}")
        return graph
