"""A FAISS vector index for one listing kind, keyed by database ids, saved with a manifest.

The database is the source of truth; this index is a cache that can always be rebuilt from it.

Layout: below ``hnsw_threshold`` vectors the index is exact (``IndexIDMap2`` over ``IndexFlatIP``;
vectors are unit length so inner product is cosine). Once an insert crosses the threshold it is
converted to approximate ``IndexHNSWFlat`` (M = 32). HNSW graphs cannot delete nodes, so in HNSW
mode the index keeps its own slot table (slot -> database id) and a liveness mask: ``remove`` and
``upsert`` retire the old slot (a tombstone, filtered out during search by an ``IDSelectorBitmap``)
and ``upsert`` appends a fresh slot. When more than ``compact_ratio`` of the slots are dead the graph
is rebuilt from the live vectors, so the cost of a rebuild is spread over many removals.

On disk (``save``/``load``): ``index-<version>.faiss`` (+ ``slots-<version>.npz`` in HNSW mode) and
``manifest.json`` naming them with their sha256. Data files are written to a temp file, fsynced
and renamed; the manifest is replaced last, so a reader never sees a manifest pointing at a
half-written file. ``reload_if_changed`` lets other processes pick up a newer version cheaply.

Concurrency: any number of threads may search at once; mutations and reload swaps take an
exclusive lock (a small readers-writer lock).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from market.search.offline_e5 import sha256_file
from market.search.versions import fsync_dir

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
FLAT, HNSW = "flat", "hnsw"
# Exact search computes inner products with BLAS only for query batches of at least this many
# rows; the faiss default (128000 in 1.15) never uses BLAS for our batches. Batched search is
# several times faster with BLAS, while single queries stay on the SIMD path.
BLAS_THRESHOLD = 16


class VectorIndexError(Exception):
    """Base class for vector index failures."""


class IndexMismatch(VectorIndexError):
    """The stored index was built by another model or with another dimension: rebuild it."""


class IndexCorrupt(VectorIndexError):
    """A stored index file is missing, truncated or fails its checksum: rebuild it."""


class RWLock:
    """Many concurrent readers or one writer; a waiting writer blocks new readers.

    Writer preference matters: a web process searches continuously, and a reader-preferring lock
    would starve the reload swap or a worker's upsert forever.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._waiting_writers:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._waiting_writers += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._waiting_writers -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


@dataclass
class _Hnsw:
    """HNSW graph plus the slot table that maps its sequential slots to database ids."""

    index: faiss.IndexHNSWFlat
    labels: np.ndarray  # slot -> database id
    alive: np.ndarray  # slot -> still current?
    slot_of: dict[int, int]  # database id -> live slot

    @property
    def dead(self) -> int:
        return len(self.alive) - len(self.slot_of)


def _as_ids(ids) -> np.ndarray:
    out = np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))
    if len(np.unique(out)) != len(out):
        raise ValueError("ids must be unique within one call")
    return out


def _as_vectors(vectors, dim: int) -> np.ndarray:
    out = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if out.ndim == 1:
        out = out.reshape(1, -1)
    if out.ndim != 2 or out.shape[1] != dim:
        raise ValueError(f"expected vectors of shape (n, {dim}), got {out.shape}")
    return out


class VectorIndex:
    """Vectors of one listing kind (demands, outcomes, patents) searchable by inner product."""

    def __init__(
        self,
        dim: int,
        model: str = "",
        model_checksum: str = "",
        hnsw_threshold: int = 200_000,
        hnsw_m: int = 32,
        ef_search: int = 128,
        ef_construction: int = 40,
        compact_ratio: float = 0.2,
    ) -> None:
        faiss.cvar.distance_compute_blas_threshold = BLAS_THRESHOLD
        self.dim = int(dim)
        self.model = model
        self.model_checksum = model_checksum
        self.hnsw_threshold = int(hnsw_threshold)
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.ef_construction = ef_construction
        self.compact_ratio = compact_ratio
        self.version = 0
        self.directory: Path | None = None
        self._manifest_stamp: tuple[int, int] | None = None
        self._lock = RWLock()
        self._flat: faiss.IndexIDMap2 | None = self._new_flat()
        self._hnsw: _Hnsw | None = None
        self._generation = 0  # bumped by every change of contents (see ``vectors``)
        # Why this copy is not the saved index (a damaged or missing file it could not load):
        # searches then say semantic search is down instead of answering from nothing.
        self.problem: str | None = None
        # (generation, database ids sorted, their rows in the vector storage): see ``vectors``
        self._layout: tuple[int, np.ndarray, np.ndarray] = (-1, np.zeros(0, np.int64), np.zeros(0))
        self._sizes: dict[str, int] = {}

    # ------------------------------------------------------------------ shape

    @property
    def kind(self) -> str:
        """``flat`` (exact) or ``hnsw`` (approximate)."""
        return FLAT if self._hnsw is None else HNSW

    def __len__(self) -> int:
        with self._lock.read():
            return self._count()

    def _count(self) -> int:
        return int(self._flat.ntotal) if self._hnsw is None else len(self._hnsw.slot_of)

    def ids(self) -> np.ndarray:
        """The database ids currently indexed (int64, sorted)."""
        with self._lock.read():
            if self._hnsw is None:
                return np.sort(faiss.vector_to_array(self._flat.id_map).astype(np.int64))
            return np.sort(np.fromiter(self._hnsw.slot_of, dtype=np.int64))

    def __contains__(self, db_id: int) -> bool:
        with self._lock.read():
            if self._hnsw is None:
                return int(db_id) in self._flat_id_set()
            return int(db_id) in self._hnsw.slot_of

    def present(self, ids) -> set[int]:
        """Which of ``ids`` are indexed now (one pass, whatever the index size)."""
        wanted = _as_ids(ids)
        with self._lock.read():
            if self._hnsw is not None:
                return {int(i) for i in wanted if int(i) in self._hnsw.slot_of}
            held = faiss.vector_to_array(self._flat.id_map)
        return {int(i) for i in wanted[np.isin(wanted, held)]}

    def _flat_id_set(self) -> set[int]:
        return set(faiss.vector_to_array(self._flat.id_map).tolist())

    # ------------------------------------------------------------------ mutation

    def add(self, ids, vectors) -> None:
        """Insert new ids; an id already present raises ``ValueError`` (use ``upsert``)."""
        ids, vectors = self._validate(ids, vectors)
        with self._lock.write():
            present = self._present(ids)
            if present:
                raise ValueError(f"ids already indexed (use upsert): {sorted(present)[:10]}")
            self._insert(ids, vectors)

    def upsert(self, ids, vectors) -> None:
        """Insert or replace: the index afterwards holds exactly these vectors for these ids."""
        ids, vectors = self._validate(ids, vectors)
        with self._lock.write():
            self._delete(ids)
            self._insert(ids, vectors)

    def remove(self, ids) -> int:
        """Drop ids (unknown ids are ignored); returns how many were removed."""
        ids = _as_ids(ids)
        with self._lock.write():
            removed = self._delete(ids)
            self._maybe_compact()
            return removed

    def _validate(self, ids, vectors) -> tuple[np.ndarray, np.ndarray]:
        ids, vectors = _as_ids(ids), _as_vectors(vectors, self.dim)
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        return ids, vectors

    def _present(self, ids: np.ndarray) -> set[int]:
        known = self._flat_id_set() if self._hnsw is None else self._hnsw.slot_of
        return {int(i) for i in ids if int(i) in known}

    def _insert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if not len(ids):
            return
        self._generation += 1
        if self._hnsw is not None:
            self._hnsw_append(ids, vectors)
        elif self._flat.ntotal + len(ids) > self.hnsw_threshold:
            old_ids, old_vectors = self._flat_contents()
            self._flat = None
            self._hnsw = self._build_hnsw(
                np.concatenate([old_ids, ids]), np.concatenate([old_vectors, vectors])
            )
            log.info("vector index switched to HNSW at %d vectors", len(self._hnsw.slot_of))
        else:
            self._flat.add_with_ids(vectors, ids)

    def _delete(self, ids: np.ndarray) -> int:
        if not len(ids):
            return 0
        self._generation += 1
        if self._hnsw is None:
            return int(self._flat.remove_ids(faiss.IDSelectorBatch(ids)))
        slots = [self._hnsw.slot_of.pop(int(i)) for i in ids if int(i) in self._hnsw.slot_of]
        self._hnsw.alive[slots] = False
        return len(slots)

    def _maybe_compact(self) -> None:
        hnsw = self._hnsw
        if hnsw is not None and hnsw.dead > self.compact_ratio * max(len(hnsw.alive), 1):
            self._compact()

    def compact(self) -> None:
        """Rebuild the HNSW graph without tombstones (no-op for the exact index)."""
        with self._lock.write():
            if self._hnsw is not None and self._hnsw.dead:
                self._compact()

    def _compact(self) -> None:
        self._generation += 1
        ids, vectors = self._hnsw_contents()
        log.info("compacting HNSW index: %d live, %d dead", len(ids), self._hnsw.dead)
        self._hnsw = self._build_hnsw(ids, vectors)

    # ------------------------------------------------------------------ building blocks

    def _new_flat(self) -> faiss.IndexIDMap2:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def _flat_contents(self) -> tuple[np.ndarray, np.ndarray]:
        ids = faiss.vector_to_array(self._flat.id_map).astype(np.int64)
        inner = faiss.downcast_index(self._flat.index)
        vectors = inner.reconstruct_n(0, inner.ntotal) if inner.ntotal else np.zeros((0, self.dim))
        return ids, np.asarray(vectors, dtype=np.float32)

    def _hnsw_contents(self) -> tuple[np.ndarray, np.ndarray]:
        hnsw = self._hnsw
        slots = np.flatnonzero(hnsw.alive)
        every = hnsw.index.reconstruct_n(0, hnsw.index.ntotal)
        return hnsw.labels[slots].copy(), np.ascontiguousarray(every[slots], dtype=np.float32)

    def _build_hnsw(self, ids: np.ndarray, vectors: np.ndarray) -> _Hnsw:
        index = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = self.ef_construction
        index.hnsw.efSearch = self.ef_search
        hnsw = _Hnsw(index, np.zeros(0, np.int64), np.zeros(0, bool), {})
        self._hnsw_append(ids, vectors, hnsw)
        return hnsw

    def _hnsw_append(self, ids: np.ndarray, vectors: np.ndarray, hnsw: _Hnsw | None = None) -> None:
        hnsw = hnsw or self._hnsw
        start = int(hnsw.index.ntotal)
        hnsw.index.add(vectors)
        hnsw.labels = np.concatenate([hnsw.labels, ids])
        hnsw.alive = np.concatenate([hnsw.alive, np.ones(len(ids), bool)])
        hnsw.slot_of.update(zip(ids.tolist(), range(start, start + len(ids)), strict=True))

    # ------------------------------------------------------------------ reading vectors

    def vectors(self, ids) -> tuple[np.ndarray, np.ndarray]:
        """The indexed vectors of ``ids``: which ids are indexed, and a (len(ids), dim) copy of
        their vectors (zero rows for ids that are not). Read from the index's own storage, in
        memory: no database read per listing, one vectorised lookup for all of them."""
        wanted = np.asarray(ids, dtype=np.int64).reshape(-1)
        with self._lock.read():
            held, rows = self._sorted_layout()
            if not len(held) or not len(wanted):
                return np.zeros(len(wanted), bool), np.zeros((len(wanted), self.dim), np.float32)
            at = np.minimum(np.searchsorted(held, wanted), len(held) - 1)
            found = held[at] == wanted
            storage = faiss.downcast_index(
                self._flat.index if self._hnsw is None else self._hnsw.index.storage
            )
            every = faiss.rev_swig_ptr(storage.get_xb(), storage.ntotal * self.dim)
            out = every.reshape(-1, self.dim)[rows[at]]  # a copy: the view dies with the lock
        out[~found] = 0.0
        return found, out

    def _sorted_layout(self) -> tuple[np.ndarray, np.ndarray]:
        """Live database ids, sorted, and their rows in the vector storage; rebuilt once per
        change of contents (an argsort of the ids: ~0.1 s at 1M listings)."""
        generation, held, rows = self._layout
        if generation != self._generation:
            if self._hnsw is None:
                held = faiss.vector_to_array(self._flat.id_map).astype(np.int64)
                slots = np.arange(len(held), dtype=np.int64)
            else:
                slots = np.flatnonzero(self._hnsw.alive)
                held = self._hnsw.labels[slots]
            order = np.argsort(held, kind="stable")
            held, rows = held[order], slots[order]
            self._layout = (self._generation, held, rows)
        return held, rows

    # ------------------------------------------------------------------ search

    def search(self, vectors, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) per query row, best first; missing slots are (-inf, -1)."""
        queries = _as_vectors(vectors, self.dim)
        with self._lock.read():
            if self._count() == 0 or k <= 0:
                return _empty_result(len(queries), max(k, 0))
            if self._hnsw is None:
                scores, ids = self._flat.search(queries, k)
            else:
                scores, ids = self._search_hnsw(queries, k)
        scores[ids < 0] = -np.inf
        return scores, ids

    def _search_hnsw(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        hnsw = self._hnsw
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(self.ef_search, k)
        bitmap = selector = None
        if hnsw.dead:
            # SWIG keeps raw pointers: the bitmap array and the selector object must both stay
            # referenced from Python until the search returns
            bitmap = np.packbits(hnsw.alive, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(hnsw.alive), faiss.swig_ptr(bitmap))
            params.sel = selector
        scores, slots = hnsw.index.search(queries, k, params=params)
        del selector, bitmap
        ids = np.where(slots >= 0, hnsw.labels[np.maximum(slots, 0)], -1)
        return scores, ids

    # ------------------------------------------------------------------ persistence

    def save(self, directory: Path | str) -> dict:
        """Write a new version atomically; returns the manifest."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with self._lock.read():
            version = max(self.version, _disk_version(directory)) + 1
            files = self._write_files(directory, version)
            manifest = self._manifest(version, files)
        _atomic_bytes(directory / MANIFEST, json.dumps(manifest, indent=2).encode())
        self.version, self.directory = version, directory
        self._manifest_stamp = _stamp(directory / MANIFEST)
        self.problem = None  # what is on disk is this copy again
        _prune_old_versions(directory, keep=set(files) | set(_previous_files(directory, version)))
        log.info("saved %s index v%d (%d vectors) to %s", self.kind, version, len(self), directory)
        return manifest

    def _write_files(self, directory: Path, version: int) -> dict[str, str]:
        files = {}
        name = f"index-{version}.faiss"
        index = self._flat if self._hnsw is None else self._hnsw.index
        # write_index streams to disk; serialize_index would hold a second copy in memory
        _atomic_file(directory / name, lambda tmp: faiss.write_index(index, tmp))
        files[name] = sha256_file(directory / name)
        self._sizes = {name: (directory / name).stat().st_size}
        if self._hnsw is not None:
            slots = f"slots-{version}.npz"
            arrays = {"labels": self._hnsw.labels, "alive": self._hnsw.alive}
            _atomic_file(directory / slots, lambda tmp: _save_npz(tmp, arrays))
            files[slots] = sha256_file(directory / slots)
            self._sizes[slots] = (directory / slots).stat().st_size
        return files

    def _manifest(self, version: int, files: dict[str, str]) -> dict:
        return {
            "format": FORMAT_VERSION,
            "version": version,
            "model": self.model,
            "model_checksum": self.model_checksum,
            "dim": self.dim,
            "count": self._count(),
            "index_type": self.kind,
            "hnsw_m": self.hnsw_m,
            "ef_search": self.ef_search,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "files": files,
            # Byte sizes: a cheap check (a stat) that the files are whole, for status pages;
            # the sha256 above is checked on every load.
            "sizes": {name: self._sizes.get(name) for name in files},
        }

    @classmethod
    def load(
        cls,
        directory: Path | str,
        expected_model: str | None = None,
        expected_dim: int | None = None,
        expected_checksum: str | None = None,
        **options,
    ) -> VectorIndex:
        """Open a saved index; ``IndexMismatch`` if model/dim differ, ``IndexCorrupt`` if damaged."""
        directory = Path(directory)
        manifest = read_manifest(directory)
        _check_expected(manifest, expected_model, expected_dim, expected_checksum)
        options.setdefault("ef_search", manifest.get("ef_search", 128))
        index = cls(manifest["dim"], manifest["model"], manifest["model_checksum"], **options)
        index._adopt(directory, manifest)
        return index

    def _adopt(self, directory: Path, manifest: dict) -> None:
        flat, hnsw = _read_files(directory, manifest, self)
        found = int(flat.ntotal) if hnsw is None else len(hnsw.slot_of)
        if "count" in manifest and found != int(manifest["count"]):
            raise IndexCorrupt(
                f"index in {directory} holds {found} vectors, its manifest says {manifest['count']}"
            )
        with self._lock.write():
            self._flat, self._hnsw = flat, hnsw
            self._generation += 1
            self.version, self.directory = int(manifest["version"]), directory
            self._manifest_stamp = _stamp(directory / MANIFEST)
            self.problem = None

    @classmethod
    def unusable(cls, directory: Path | str, problem: str, **options) -> VectorIndex:
        """An empty stand-in for a saved index that could not be loaded: it knows where the
        files are, so it adopts them once they are repaired (``reload_if_changed``), and says
        why it is empty (``problem``)."""
        index = cls(**options)
        index.directory, index.problem = Path(directory), problem
        index._manifest_stamp = _stamp(index.directory / MANIFEST)
        return index

    def disk_problem(self) -> str | None:
        """What is wrong with the saved files of this index (missing, damaged, another model),
        checked in full (sha256); None when they load. Reconcile asks it of the files on disk,
        not of this process's copy in memory."""
        if self.directory is None:
            return None
        try:
            manifest = read_manifest(self.directory)
            _check_expected(manifest, self.model, self.dim, self.model_checksum or None)
            for prefix in ("index-", "slots-"):
                _verified_path(self.directory, manifest, prefix)
        except VectorIndexError as e:
            return str(e)
        return None

    def reload_if_changed(self) -> bool:
        """Load a newer version written by another process; cheap (a stat) when nothing changed."""
        if self.directory is None:
            return False
        stamp = _stamp(self.directory / MANIFEST)
        if stamp is None or stamp == self._manifest_stamp:
            return False
        try:
            manifest = read_manifest(self.directory)
            if int(manifest["version"]) <= self.version:
                self._manifest_stamp = stamp
                return False
            _check_expected(manifest, self.model, self.dim, self.model_checksum or None)
            self._adopt(self.directory, manifest)
        except VectorIndexError as e:
            # A damaged newer version: keep serving what this copy holds, say so, and do not
            # checksum the same files again on every request.
            self._manifest_stamp = stamp
            self.problem = f"newer index files unusable: {e}"
            log.warning("index at %s: %s", self.directory, self.problem)
            return False
        log.info("reloaded index v%d from %s", self.version, self.directory)
        return True


# ---------------------------------------------------------------------- helpers


def _empty_result(nq: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((nq, k), -np.inf, dtype=np.float32), np.full((nq, k), -1, dtype=np.int64)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size)


def read_manifest(directory: Path | str) -> dict:
    """The manifest of a saved index; ``IndexCorrupt`` when missing or unreadable."""
    path = Path(directory) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise IndexCorrupt(f"no index manifest at {path}") from e
    except (OSError, ValueError) as e:
        raise IndexCorrupt(f"unreadable index manifest {path}: {e}") from e
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexCorrupt(f"{path}: unsupported format {manifest.get('format')!r}")
    return manifest


def files_look_whole(directory: Path | str) -> str | None:
    """A cheap check (no checksums) for status pages: the manifest reads and every file it
    names exists with the size it recorded. None when they do."""
    directory = Path(directory)
    try:
        manifest = read_manifest(directory)
    except IndexCorrupt as e:
        return str(e)
    sizes = manifest.get("sizes") or {}
    for name in manifest["files"]:
        path = directory / name
        if not path.is_file():
            return f"index file {path} is missing"
        if sizes.get(name) is not None and path.stat().st_size != sizes[name]:
            return f"index file {path} is {path.stat().st_size} bytes, {sizes[name]} expected"
    return None


def _disk_version(directory: Path) -> int:
    try:
        return int(read_manifest(directory)["version"])
    except IndexCorrupt:
        return 0


def _check_expected(manifest: dict, model, dim, checksum) -> None:
    if model is not None and manifest["model"] != model:
        raise IndexMismatch(f"index built with model {manifest['model']!r}, expected {model!r}")
    if dim is not None and int(manifest["dim"]) != int(dim):
        raise IndexMismatch(f"index has dimension {manifest['dim']}, expected {dim}")
    if checksum is not None and manifest["model_checksum"] != checksum:
        raise IndexMismatch(
            f"index built with model checksum {manifest['model_checksum'][:12]}, "
            f"expected {checksum[:12]}"
        )


def _verified_path(directory: Path, manifest: dict, prefix: str) -> Path | None:
    names = [n for n in manifest["files"] if n.startswith(prefix)]
    if not names:
        return None
    path = directory / names[0]
    if not path.is_file():
        raise IndexCorrupt(f"index file {path} is missing")
    if sha256_file(path) != manifest["files"][names[0]]:
        raise IndexCorrupt(f"index file {path} fails its sha256 check")
    return path


def _read_files(directory: Path, manifest: dict, owner: VectorIndex):
    path = _verified_path(directory, manifest, "index-")
    if path is None:
        raise IndexCorrupt(f"manifest in {directory} names no index file")
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as e:
        raise IndexCorrupt(f"faiss cannot read {path}: {e}") from e
    # read_index already returns the concrete class; wrapping it in downcast_index would let the
    # owning proxy be garbage-collected and free the index under us
    if manifest["index_type"] == FLAT:
        return index, None
    index.hnsw.efSearch = owner.ef_search
    slots_path = _verified_path(directory, manifest, "slots-")
    if slots_path is None:
        raise IndexCorrupt(f"HNSW manifest in {directory} names no slot table")
    with np.load(slots_path) as data:
        labels, alive = data["labels"].astype(np.int64), data["alive"].astype(bool)
    live = np.flatnonzero(alive)
    slot_of = dict(zip(labels[live].tolist(), live.tolist(), strict=True))
    return None, _Hnsw(index, labels, alive, slot_of)


def _atomic_file(path: Path, fill: Callable[[str], None]) -> None:
    """Create ``path`` via a temp file in the same directory: fill, fsync, os.replace, fsync dir."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        fill(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _atomic_bytes(path: Path, payload: bytes) -> None:
    _atomic_file(path, lambda tmp: Path(tmp).write_bytes(payload))


def _save_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as fh:  # a file object stops numpy from appending ".npz"
        np.savez(fh, **arrays)


def _previous_files(directory: Path, version: int) -> list[str]:
    """Files of the version just before ``version``: a reader may still be opening them."""
    return [f"index-{version - 1}.faiss", f"slots-{version - 1}.npz"]


def _prune_old_versions(directory: Path, keep: set[str]) -> None:
    for path in list(directory.glob("index-*.faiss")) + list(directory.glob("slots-*.npz")):
        if path.name not in keep:
            path.unlink(missing_ok=True)
